"""Exchanges and disbursements: their rules (400 on the field, 409 over_disbursement),
editing exchanges, and Idempotency-Key on money-recording POSTs."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from grants import services
from grants.models import Disbursement, Exchange, GrantHistory, GrantStatus
from partners.models import Fund
from tests.grants.conftest import grant_state
from tests.grants.factories import make_grant

S = GrantStatus
D = Decimal
pytestmark = pytest.mark.django_db

EXCHANGE = {
    "instrument": "videoconference",
    "title": "Videoconference with Mexico's Prospera team",
    "provider_countries": ["MEX"],
    "recipient_countries": ["HND"],
    "start_date": "2026-03-01",
    "end_date": "2026-03-01",
    "participants": 30,
    "women_participants": 30,
}


def exchanges_url(grant):
    return f"/api/v1/grants/{grant.pk}/exchanges/"


def disbursements_url(grant):
    return f"/api/v1/grants/{grant.pk}/disbursements/"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"women_participants": 31}, "women_participants"),
        ({"participants": 0, "women_participants": 1}, "women_participants"),
        ({"end_date": "2026-02-28"}, "end_date"),
        ({"provider_countries": ["HND"]}, "provider_countries"),
        ({"instrument": "hackathon"}, "instrument"),
        ({"status": "postponed"}, "status"),
        ({"participants": -1}, "participants"),
        ({"recipient_countries": ["ZZZ"]}, "recipient_countries"),
        ({"title": ""}, "title"),
    ],
)
def test_an_invalid_exchange_is_refused_on_its_field(
    overrides, field, funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    before = grant_state(grant.pk)
    response = client_for(leader).post(
        exchanges_url(grant), {**EXCHANGE, **overrides}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert grant_state(grant.pk) == before


def test_an_exchange_at_the_limits_is_accepted(funded, leader, client_for):
    grant = make_grant(leader)
    response = client_for(leader).post(exchanges_url(grant), EXCHANGE, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["women_participants"] == 30


def test_exchanges_are_edited_under_the_same_rules(
    funded, leader, leader2, fund_manager, client_for
):
    grant = make_grant(leader)
    ttl, fm = client_for(leader), client_for(fund_manager)
    created = ttl.post(exchanges_url(grant), EXCHANGE, format="json").json()
    url = f"{exchanges_url(grant)}{created['id']}/"

    # A draft: its leader edits; a fund manager cannot see it.
    response = ttl.patch(url, {"location": "Online"}, format="json")
    assert response.status_code == 200
    assert response.json()["location"] == "Online"
    assert fm.patch(url, {"location": "x"}, format="json").status_code == 404
    # The kept values limit a partial edit.
    assert ttl.patch(url, {"women_participants": 31}, format="json").status_code == 400
    assert ttl.patch(url, {"end_date": "2026-02-01"}, format="json").status_code == 400

    # Submitted: no one edits it.
    assert ttl.post(f"/api/v1/grants/{grant.pk}/submit/").status_code == 200
    for client in (ttl, fm):
        response = client.patch(url, {"status": "held"}, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"

    # Approved: the leader and fund managers record what happened; others may not.
    response = fm.post(f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "1000"})
    assert response.status_code == 200
    assert ttl.patch(url, {"status": "held"}, format="json").json()["status"] == "held"
    assert fm.patch(url, {"participants": 40}, format="json").json()["participants"] == 40
    response = client_for(leader2).patch(url, {"status": "cancelled"}, format="json")
    assert response.status_code == 403
    exchange = Exchange.objects.get(pk=created["id"])
    assert (exchange.status, exchange.participants, exchange.location) == ("held", 40, "Online")

    # An exchange under another grant's URL does not exist.
    other = make_grant(leader, S.APPROVED, manager=fund_manager)
    response = ttl.patch(
        f"{exchanges_url(other)}{exchange.pk}/", {"status": "cancelled"}, format="json"
    )
    assert response.status_code == 404
    assert fm.get(f"{exchanges_url(other)}{exchange.pk}/").status_code == 404
    assert Exchange.objects.get(pk=exchange.pk).status == "held"


def test_exchanges_are_read_by_whoever_sees_the_grant(
    funded, leader, leader2, fund_manager, donor, client_for
):
    grant = make_grant(leader)
    assert client_for(leader).post(exchanges_url(grant), EXCHANGE, format="json").status_code == 201
    for user in (fund_manager, leader2, donor):
        assert client_for(user).get(exchanges_url(grant)).status_code == 404
    services.grant_transition(grant=grant, user=leader, action="submit")
    services.grant_transition(
        grant=grant, user=fund_manager, action="approve", approved_usd=D("1000")
    )
    for user in (leader, fund_manager, leader2, donor):
        response = client_for(user).get(exchanges_url(grant))
        assert response.status_code == 200
        assert [e["title"] for e in response.json()["results"]] == [EXCHANGE["title"]]
        exchange_id = response.json()["results"][0]["id"]
        detail = client_for(user).get(f"{exchanges_url(grant)}{exchange_id}/")
        assert detail.status_code == 200
        assert detail.json()["recipient_countries"] == ["HND"]


# --- Disbursements -----------------------------------------------------------------------------


def disburse(client, grant, amount, **headers):
    return client.post(
        disbursements_url(grant),
        {"amount_usd": amount, "disbursed_on": "2026-02-15"},
        format="json",
        headers=headers,
    )


@pytest.mark.parametrize("status", [S.APPROVED, S.COMPLETED])
def test_disbursements_stop_at_the_approved_amount(
    status, funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, status, manager=fund_manager, approved_usd=D("80000.00"))
    fm = client_for(fund_manager)
    assert disburse(fm, grant, "30000.00").status_code == 201
    before = grant_state(grant.pk)
    response = disburse(fm, grant, "50000.01")
    assert response.status_code == 409
    assert response.json()["code"] == "over_disbursement"
    assert grant_state(grant.pk) == before
    assert disburse(fm, grant, "50000.00").status_code == 201
    response = disburse(fm, grant, "0.01")
    assert response.status_code == 409
    assert response.json()["code"] == "over_disbursement"
    grant.refresh_from_db()
    assert grant.disbursed_usd == D("80000.00")
    assert Fund.objects.get().disbursed_usd == D("80000.00")
    listed = fm.get(disbursements_url(grant)).json()
    assert [d["amount_usd"] for d in listed["results"]] == ["30000.00", "50000.00"]


def test_a_cancelled_grant_takes_no_more_disbursements(funded, leader, fund_manager, client_for):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    fm = client_for(fund_manager)
    assert disburse(fm, grant, "10000.00").status_code == 201
    assert fm.post(f"/api/v1/grants/{grant.pk}/cancel/").status_code == 200
    response = disburse(fm, grant, "10000.00")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert Disbursement.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "field"),
    [("0", "amount_usd"), ("-1.00", "amount_usd"), ("1.234", "amount_usd"), ("x", "amount_usd")],
)
def test_a_malformed_disbursement_is_a_400(amount, field, funded, leader, fund_manager, client_for):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    before = grant_state(grant.pk)
    response = disburse(client_for(fund_manager), grant, amount)
    assert response.status_code == 400
    assert field in response.json()
    assert grant_state(grant.pk) == before


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_the_service_refuses_an_amount_not_above_zero(amount, funded, leader, fund_manager):
    """Past the serializer (the pages and the importer call the service too): one rule,
    ``_validate_disbursement``'s, names the amount with the date in one 400."""
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    before = grant_state(grant.pk)
    with pytest.raises(ValidationError) as refused:
        services.disbursement_record(
            grant=grant,
            user=fund_manager,
            amount_usd=D(amount),
            disbursed_on=timezone.localdate() + timedelta(days=1),
        )
    errors = refused.value.message_dict
    assert sorted(errors) == ["amount_usd", "disbursed_on"]
    assert errors["amount_usd"] == ["Must be greater than zero."]
    assert "future" in errors["disbursed_on"][0]
    assert grant_state(grant.pk) == before
    assert not Disbursement.objects.filter(grant=grant).exists()


def test_a_disbursement_retried_with_its_key_is_recorded_once(
    funded, leader, fund_manager, fund_manager2, client_for
):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    fm = client_for(fund_manager)
    first = disburse(fm, grant, "10000.00", **{"Idempotency-Key": "pay-1"})
    assert first.status_code == 201
    again = disburse(fm, grant, "10000.00", **{"Idempotency-Key": "pay-1"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Disbursement.objects.count() == 1
    assert Fund.objects.get().disbursed_usd == D("10000.00")

    # The same key with another body: 409 duplicate, nothing written.
    other = disburse(fm, grant, "20000.00", **{"Idempotency-Key": "pay-1"})
    assert other.status_code == 409
    assert other.json()["code"] == "duplicate"
    # Another key, or no key, records again; keys are per user.
    assert disburse(fm, grant, "10000.00", **{"Idempotency-Key": "pay-2"}).status_code == 201
    assert disburse(fm, grant, "10000.00").status_code == 201
    fm2 = client_for(fund_manager2)
    assert disburse(fm2, grant, "10000.00", **{"Idempotency-Key": "pay-1"}).status_code == 201
    assert Disbursement.objects.count() == 4
    grant.refresh_from_db()
    assert grant.disbursed_usd == D("40000.00")


def test_a_refused_disbursement_does_not_use_up_its_key(funded, leader, fund_manager, client_for):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager, approved_usd=D("1000.00"))
    fm = client_for(fund_manager)
    refused = disburse(fm, grant, "1000.01", **{"Idempotency-Key": "k"})
    assert refused.status_code == 409
    # The same key may be used for a corrected request.
    assert disburse(fm, grant, "1000.00", **{"Idempotency-Key": "k"}).status_code == 201


def test_an_approval_retried_with_its_key_is_applied_once(funded, leader, fund_manager, client_for):
    grant = make_grant(leader, S.SUBMITTED)
    fm = client_for(fund_manager)
    url = f"/api/v1/grants/{grant.pk}/approve/"
    body = {"approved_usd": "90000.00", "comment": "Good value."}
    first = fm.post(url, body, format="json", headers={"Idempotency-Key": "approve-1"})
    assert first.status_code == 200
    again = fm.post(url, body, format="json", headers={"Idempotency-Key": "approve-1"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert GrantHistory.objects.filter(grant=grant, action="approve").count() == 1
    assert Fund.objects.get().committed_usd == D("90000.00")
    # Without the key a second approval is a wrong transition.
    response = fm.post(url, body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("key", ["", " ", "k" * 256])
def test_a_malformed_key_is_a_400(key, funded, leader, fund_manager, client_for):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    response = disburse(client_for(fund_manager), grant, "1.00", **{"Idempotency-Key": key})
    assert response.status_code == 400
    assert Disbursement.objects.count() == 0
