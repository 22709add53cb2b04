"""The workflow's details beyond the action x status x role matrix: references, decision
dates, the completion report's preconditions, and the order of the checks."""

import re

import pytest
from django.utils import timezone

from grants.models import GrantStatus
from results.models import CompletionReport
from tests.grants.conftest import grant_state
from tests.grants.factories import make_grant

S = GrantStatus
pytestmark = pytest.mark.django_db


def test_first_submission_assigns_a_reference_that_resubmission_keeps(
    funded, leader, fund_manager, client_for
):
    grant = make_grant(leader)
    ttl, fm = client_for(leader), client_for(fund_manager)
    first = ttl.post(f"/api/v1/grants/{grant.pk}/submit/")
    assert first.status_code == 200
    reference = first.json()["reference"]
    year = timezone.localdate().year
    assert re.fullmatch(rf"SEETF-{year}-\d{{4}}", reference), reference
    assert first.json()["submitted_at"] is not None
    assert fm.post(f"/api/v1/grants/{grant.pk}/return/", {"comment": "Budget?"}).status_code == 200
    again = ttl.post(f"/api/v1/grants/{grant.pk}/submit/")
    assert again.status_code == 200
    assert again.json()["reference"] == reference
    other = make_grant(leader, S.SUBMITTED)
    assert int(other.reference[-4:]) == int(reference[-4:]) + 1
    history = ttl.get(f"/api/v1/grants/{grant.pk}/history/").json()
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("create", "", "draft"),
        ("submit", "draft", "submitted"),
        ("return", "submitted", "returned"),
        ("submit", "returned", "submitted"),
    ]
    assert history[2]["comment"] == "Budget?"
    assert history[2]["actor"] == fund_manager.username


def test_decisions_set_decided_at(funded, leader, fund_manager, client_for):
    fm = client_for(fund_manager)
    for action in ["approve", "reject", "return"]:
        grant = make_grant(leader, S.SUBMITTED)
        assert grant.decided_at is None
        body = {"approved_usd": "1000.00"} if action == "approve" else {}
        response = fm.post(f"/api/v1/grants/{grant.pk}/{action}/", body)
        assert response.status_code == 200
        assert response.json()["decided_at"] is not None


def test_close_needs_an_accepted_report(funded, leader, fund_manager, client_for):
    grant = make_grant(leader, S.COMPLETED, manager=fund_manager)
    assert CompletionReport.objects.get(grant=grant).accepted_at is None
    before = grant_state(grant.pk)
    response = client_for(fund_manager).post(f"/api/v1/grants/{grant.pk}/close/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert grant_state(grant.pk) == before


def test_report_submit_needs_a_written_report(funded, leader, fund_manager, client_for):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    before = grant_state(grant.pk)
    response = client_for(leader).post(f"/api/v1/grants/{grant.pk}/completion-report/submit/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert grant_state(grant.pk) == before


def test_a_report_is_accepted_once(funded, leader, fund_manager, fund_manager2, client_for):
    grant = make_grant(leader, S.COMPLETED, manager=fund_manager)
    url_ = f"/api/v1/grants/{grant.pk}/completion-report/accept/"
    assert client_for(fund_manager).post(url_).status_code == 200
    before = grant_state(grant.pk)
    again = client_for(fund_manager2).post(url_)
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert grant_state(grant.pk) == before


@pytest.mark.parametrize("action", ["frobnicate", "complete", "create"])
def test_an_unknown_or_internal_action_is_not_an_endpoint(
    action, funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    before = grant_state(grant.pk)
    response = client_for(fund_manager).post(f"/api/v1/grants/{grant.pk}/{action}/")
    assert response.status_code == 404
    assert grant_state(grant.pk) == before


@pytest.mark.parametrize("role", ["leader", "other_leader", "donor"])
def test_the_role_is_checked_before_the_body(role, funded, leader, fund_manager, client_for):
    """A user who may not approve gets 403, whatever they send: not a 400 telling them
    how to fill in a form they may not use."""
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    before = grant_state(grant.pk)
    response = client_for(role).post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "not money"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert grant_state(grant.pk) == before


def test_a_no_role_user_sees_no_grant(funded, leader, fund_manager, no_role_user, client_for):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    client = client_for(no_role_user)
    assert client.get(f"/api/v1/grants/{grant.pk}/").status_code == 404
    assert client.post(f"/api/v1/grants/{grant.pk}/cancel/").status_code == 404
    assert client.get("/api/v1/grants/").json()["count"] == 0


@pytest.mark.parametrize(
    ("role", "status", "path", "body"),
    [
        ("fund_manager", S.APPROVED, "submit/", {"comment": "x" * 6000}),
        ("donor", S.CLOSED, "accept/", {"comment": "x" * 6000}),
        ("leader", S.COMPLETED, "accept/", {"comment": ["not", "text"]}),
        ("fund_manager", S.APPROVED, "", {"rating": "excellent"}),
    ],
    ids=["fm-submits", "donor-accepts", "leader-accepts", "fm-writes"],
)
def test_report_endpoints_check_the_role_before_the_body(
    role, status, path, body, funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, status, manager=fund_manager)
    before = grant_state(grant.pk)
    url = f"/api/v1/grants/{grant.pk}/completion-report/{path}"
    client = client_for(role)
    response = (
        client.put(url, body, format="json") if not path else client.post(url, body, format="json")
    )
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    assert grant_state(grant.pk) == before


@pytest.mark.parametrize(
    ("status", "path", "body"),
    [
        (S.SUBMITTED, "submit/", {"comment": "x" * 6000}),
        (S.COMPLETED, "", {"rating": "excellent"}),
    ],
    ids=["submit-too-early", "write-too-late"],
)
def test_report_endpoints_check_the_status_before_the_body(
    status, path, body, funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, status, manager=fund_manager)
    before = grant_state(grant.pk)
    url = f"/api/v1/grants/{grant.pk}/completion-report/{path}"
    client = client_for(leader)
    response = (
        client.put(url, body, format="json") if not path else client.post(url, body, format="json")
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "invalid_transition"
    assert grant_state(grant.pk) == before


def test_a_grant_and_its_history_have_the_fields_of_the_contract(
    funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager)
    body = client_for(leader).get(f"/api/v1/grants/{grant.pk}/").json()
    assert set(body) == {
        "id",
        "reference",
        "title",
        "summary",
        "task_team_leader",
        "sector",
        "region",
        "recipient_countries",
        "provider_countries",
        "facilitating_partners",
        "window",
        "partner_roles",
        "recipient_endorsed_on",
        "brokered_request",
        "brokered_offer",
        "requested_usd",
        "approved_usd",
        "disbursed_usd",
        "status",
        "development_goal",
        "targeted_outcomes",
        "planned_start",
        "planned_end",
        "completion_report_due",
        "submitted_at",
        "decided_at",
        "created_at",
        "parent",
        "relation",
        "allowed_actions",
    }
    assert body["sector"] == "16010"
    assert body["recipient_countries"] == ["HND"]
    assert body["approved_usd"] == body["requested_usd"] == "100000.00"
    assert body["planned_start"] == "2026-01-10"
    assert body["completion_report_due"] == "2026-08-29"
    assert body["submitted_at"].endswith(("Z", "+00:00"))
    history = client_for(leader).get(f"/api/v1/grants/{grant.pk}/history/").json()
    assert [set(row) for row in history] == [
        {"at", "actor", "action", "from_status", "to_status", "comment"}
    ] * 3
    assert [row["at"] for row in history] == sorted(row["at"] for row in history)


def test_a_superuser_sees_and_decides_everything(funded, leader, superuser, client_for):
    draft = make_grant(leader)
    submitted = make_grant(leader, S.SUBMITTED)
    client = client_for(superuser)
    listed = {row["id"] for row in client.get("/api/v1/grants/").json()["results"]}
    assert listed == {draft.pk, submitted.pk}
    response = client.post(
        f"/api/v1/grants/{submitted.pk}/approve/", {"approved_usd": "5000.00"}, format="json"
    )
    assert response.status_code == 200
    response = client.post(
        f"/api/v1/grants/{submitted.pk}/disbursements/",
        {"amount_usd": "5000.00", "disbursed_on": "2026-03-01"},
        format="json",
    )
    assert response.status_code == 201
