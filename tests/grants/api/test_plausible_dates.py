"""Plausible dates, as rules of the services (issue 13): the API refuses what the pages
refuse, a 400 naming the field, and changes nothing. No disbursement dated in the future,
no exchange held before it starts, no completion report with exchanges still planned or
before the first exchange was held; a fund manager returns a report for revision."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEntry
from grants.models import Exchange, GrantHistory, GrantStatus
from results import services as result_services
from results.models import CompletionReport
from tests.grants.conftest import grant_state
from tests.grants.factories import REPORT, make_exchange, make_grant

S = GrantStatus
pytestmark = pytest.mark.django_db


def tomorrow() -> str:
    return (timezone.localdate() + timedelta(days=1)).isoformat()


def test_a_disbursement_dated_tomorrow_is_refused_on_its_date(
    funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    before = grant_state(grant.pk)
    url = f"/api/v1/grants/{grant.pk}/disbursements/"
    client = client_for(fund_manager)
    response = client.post(url, {"amount_usd": "100.00", "disbursed_on": tomorrow()}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["disbursed_on"]
    assert "future" in response.json()["disbursed_on"][0]
    assert grant_state(grant.pk) == before
    today = timezone.localdate().isoformat()
    response = client.post(url, {"amount_usd": "100.00", "disbursed_on": today}, format="json")
    assert response.status_code == 201, response.content


def test_an_exchange_cannot_be_held_before_it_starts(funded, leader, fund_manager, client_for):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    client = client_for(fund_manager)
    later = timezone.localdate() + timedelta(days=30)
    body = {
        "instrument": "workshop",
        "title": "A workshop next month",
        "start_date": later.isoformat(),
        "end_date": later.isoformat(),
        "status": "held",
    }
    url = f"/api/v1/grants/{grant.pk}/exchanges/"
    response = client.post(url, body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["status"]
    assert not Exchange.objects.filter(grant=grant).exists()
    # Planned, it is taken; marking it held before it starts is refused too (a PATCH).
    exchange_id = client.post(url, {**body, "status": "planned"}, format="json").json()["id"]
    response = client.patch(f"{url}{exchange_id}/", {"status": "held"}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["status"]
    assert Exchange.objects.get(pk=exchange_id).status == "planned"


def _report_written(grant, leader):
    result_services.completion_report_save(grant=grant, user=leader, **REPORT)


def test_a_report_is_not_submitted_while_an_exchange_is_still_planned(
    funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    planned = make_exchange(grant, fund_manager, title="The study tour")
    make_exchange(grant, fund_manager, title="Held", status="held")
    _report_written(grant, leader)
    url = f"/api/v1/grants/{grant.pk}/completion-report/submit/"
    before = grant_state(grant.pk)
    response = client_for(leader).post(url, {}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["exchanges"]
    assert "The study tour" in response.json()["exchanges"][0]
    assert grant_state(grant.pk) == before
    # Cancelled, the planned exchange no longer stands in the way.
    client_for(fund_manager).patch(
        f"/api/v1/grants/{grant.pk}/exchanges/{planned.pk}/", {"status": "cancelled"}, format="json"
    )
    response = client_for(leader).post(url, {}, format="json")
    assert response.status_code == 200, response.content


def test_a_past_report_is_not_dated_before_the_first_exchange_was_held(
    funded, leader, fund_manager
):
    """The importer's reports of the past carry their date: not before the first
    exchange held."""
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    make_exchange(grant, fund_manager, status="held")  # held from 1 February 2026
    _report_written(grant, leader)
    at = timezone.make_aware(timezone.datetime(2026, 1, 15, 12))
    with pytest.raises(ValidationError) as refused:
        result_services.completion_report_submit(grant=grant, user=leader, at=at)
    assert "exchanges" in refused.value.message_dict
    grant.refresh_from_db()
    assert grant.status == S.APPROVED


def test_a_fund_manager_returns_a_report_for_revision(funded, leader, fund_manager, client_for):
    grant = make_grant(leader, S.COMPLETED, manager=fund_manager)
    url = f"/api/v1/grants/{grant.pk}/completion-report/return/"
    # The comment says what to revise: required.
    response = client_for(fund_manager).post(url, {"comment": " "}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["comment"]
    # Only fund managers; the leader is refused.
    assert client_for(leader).post(url, {"comment": "x"}, format="json").status_code == 403
    response = client_for(fund_manager).post(
        url, {"comment": "Say how many officials took part."}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["submitted_at"] is None
    grant.refresh_from_db()
    assert grant.status == S.APPROVED
    row = GrantHistory.objects.filter(grant=grant).latest("id")
    assert (row.action, row.from_status, row.to_status, row.comment) == (
        "return-report",
        S.COMPLETED,
        S.APPROVED,
        "Say how many officials took part.",
    )
    entry = AuditEntry.objects.filter(action="completion_report.return").get()
    assert entry.reason == "Say how many officials took part."
    actions = {
        a["action"]: a["allowed"]
        for a in client_for(leader).get(f"/api/v1/grants/{grant.pk}/").json()["allowed_actions"]
    }
    assert actions["complete"] is True and actions["return-report"] is False
    # The leader revises and submits again; an accepted report is never returned.
    result_services.completion_report_save(grant=grant, user=leader, participants=40)
    assert (
        client_for(leader)
        .post(f"/api/v1/grants/{grant.pk}/completion-report/submit/", {}, format="json")
        .status_code
        == 200
    )
    result_services.completion_report_accept(grant=grant, user=fund_manager)
    response = client_for(fund_manager).post(url, {"comment": "Again?"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert CompletionReport.objects.get(grant=grant).participants == 40


def test_the_returned_amounts_stay_decimal(funded, leader, fund_manager):
    """Returning the report moves no money: the commitment stays as approved."""
    grant = make_grant(leader, S.COMPLETED, manager=fund_manager)
    result_services.completion_report_return(grant=grant, user=fund_manager, comment="Revise.")
    grant.refresh_from_db()
    assert grant.approved_usd == Decimal("100000.00") and grant.released_usd == 0


def test_an_incomplete_draft_is_submitted_with_every_missing_field_named(
    funded, leader, client_for
):
    """A draft kept with only its title (the web's half-written proposal): the API reads
    it, a PATCH completes it bit by bit, and submitting names every field still missing
    at once (400), then succeeds once it is complete."""
    from grants import services

    grant = services.grant_create(leader=leader, title="Half a proposal")
    client = client_for(leader)
    body = client.get(f"/api/v1/grants/{grant.pk}/").json()
    assert (body["sector"], body["requested_usd"], body["planned_start"]) == (None, None, None)
    submit = f"/api/v1/grants/{grant.pk}/submit/"
    response = client.post(submit, {}, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == {
        "sector",
        "region",
        "recipient_countries",
        "planned_start",
        "planned_end",
        "requested_usd",
    }
    allowed = {
        a["action"]: a for a in client.get(f"/api/v1/grants/{grant.pk}/").json()["allowed_actions"]
    }
    assert allowed["submit"]["allowed"] is False
    assert allowed["submit"]["code"] == "incomplete_proposal"
    patch = client.patch(
        f"/api/v1/grants/{grant.pk}/", {"requested_usd": "50000.00"}, format="json"
    )
    assert patch.status_code == 200, patch.content
    response = client.post(submit, {}, format="json")
    assert "requested_usd" not in response.json()
    from partners.models import Country, Sector

    client.patch(
        f"/api/v1/grants/{grant.pk}/",
        {
            "sector": Sector.objects.get(code="16010").pk,
            "region": "LCR",
            "recipient_countries": ["HND"],
            "planned_start": "2027-01-10",
            "planned_end": "2027-06-30",
        },
        format="json",
    )
    assert Country.objects.get(code="HND") in grant.recipient_countries.all()
    response = client.post(submit, {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"


def test_a_returned_proposal_keeps_what_it_was_submitted_with(funded, leader, fund_manager):
    from grants import services

    grant = make_grant(leader, S.SUBMITTED)
    services.grant_transition(grant=grant, user=fund_manager, action="return", comment="Less.")
    with pytest.raises(ValidationError) as refused:
        services.grant_update(grant=grant, user=leader, requested_usd=None, sector=None)
    assert set(refused.value.message_dict) == {"requested_usd", "sector"}
    grant.refresh_from_db()
    assert grant.requested_usd == Decimal("100000.00")


def test_the_database_refuses_a_submitted_grant_without_its_amount(funded, leader):
    from django.db import IntegrityError, transaction

    from grants.models import Grant

    grant = make_grant(leader, S.SUBMITTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.filter(pk=grant.pk).update(requested_usd=None)
