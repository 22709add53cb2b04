"""The completion report through the API, for each role: who reads it at which stage,
who writes it, and its lifecycle (write -> submit -> accept -> close)."""

from decimal import Decimal

import pytest

from grants.models import GrantStatus
from results.models import CompletionReport
from tests.factories import fund_with
from tests.grants.factories import REPORT, make_grant

pytestmark = pytest.mark.django_db

WRITTEN = {
    "outcomes_achieved": ["enhanced_networks", "raised_awareness"],
    "concrete_results": [
        {"kind": "pilot_project", "description": "A pilot in two districts."},
        {"kind": "network", "description": "A network of officials."},
    ],
    "participants": 31,
    "rating": "HS",
    "lessons": "Short, focused visits worked.",
    "follow_up_needed": True,
    "follow_up_description": "A second exchange on implementation.",
}


def url(grant, suffix=""):
    return f"/api/v1/grants/{grant.pk}/completion-report/{suffix}"


@pytest.fixture
def users(fund_manager, leader, leader2, donor):
    return {"fund_manager": fund_manager, "leader": leader, "other_leader": leader2, "donor": donor}


@pytest.fixture
def approved(db, leader, fund_manager):
    fund_with("1000000.00")
    return make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)


# Who reads the report at each stage: written (grant approved), submitted (completed),
# accepted (completed, accepted). 404 hides a report, as if there were none.
READ = {
    "written": {"fund_manager": 200, "leader": 200, "other_leader": 404, "donor": 404},
    "submitted": {"fund_manager": 200, "leader": 200, "other_leader": 404, "donor": 404},
    "accepted": {"fund_manager": 200, "leader": 200, "other_leader": 200, "donor": 200},
}


@pytest.mark.parametrize("stage", list(READ))
@pytest.mark.parametrize("role", ["fund_manager", "leader", "other_leader", "donor"])
def test_who_reads_the_report_at_each_stage(
    stage, role, approved, users, client_for, leader, fund_manager
):
    assert client_for(leader).put(url(approved), WRITTEN, format="json").status_code == 200
    if stage in ("submitted", "accepted"):
        assert client_for(leader).post(url(approved, "submit/")).status_code == 200
    if stage == "accepted":
        assert client_for(fund_manager).post(url(approved, "accept/")).status_code == 200

    response = client_for(users[role]).get(url(approved))

    assert response.status_code == READ[stage][role]
    if response.status_code == 200:
        body = response.json()
        assert sorted(body["outcomes_achieved"]) == WRITTEN["outcomes_achieved"]
        assert body["concrete_results"] == WRITTEN["concrete_results"]
        assert body["rating"] == "HS"


def test_anonymous_gets_401(approved, anon):
    assert anon.get(url(approved)).status_code == 401
    assert anon.put(url(approved), WRITTEN, format="json").status_code == 401


@pytest.mark.parametrize(
    "role, status", [("fund_manager", 403), ("other_leader", 404), ("donor", 404)]
)
def test_only_the_leader_writes_the_report(role, status, approved, users, client_for):
    response = client_for(users[role]).put(url(approved), WRITTEN, format="json")

    assert response.status_code == status
    assert not CompletionReport.objects.filter(grant=approved).exists()


def test_the_leader_writes_it_only_while_the_grant_is_approved(leader, fund_manager, client_for):
    fund_with("1000000.00")
    submitted = make_grant(leader, GrantStatus.SUBMITTED, manager=fund_manager)

    response = client_for(leader).put(url(submitted), WRITTEN, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"outcomes_achieved": ["world_peace"]}, "outcomes_achieved"),
        ({"concrete_results": [{"kind": "miracle", "description": "x"}]}, "concrete_results"),
        ({"rating": "A+"}, "rating"),
        ({"participants": -1}, "participants"),
        ({"lessons": "x" * 20001}, "lessons"),
    ],
)
def test_bad_reports_are_400_by_field_and_write_nothing(
    change, field, approved, leader, client_for
):
    response = client_for(leader).put(url(approved), {**WRITTEN, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not CompletionReport.objects.filter(grant=approved).exists()


def test_the_lifecycle_completes_accepts_and_closes_releasing_unspent_money(
    approved, leader, fund_manager, client_for
):
    ttl, fm = client_for(leader), client_for(fund_manager)
    disbursed = fm.post(
        f"/api/v1/grants/{approved.pk}/disbursements/",
        {"amount_usd": "60000.00", "disbursed_on": "2026-02-01"},
        format="json",
    )
    assert disbursed.status_code == 201
    available_before = Decimal(fm.get("/api/v1/fund/").json()["available_usd"])

    assert ttl.put(url(approved), WRITTEN, format="json").status_code == 200
    assert fm.post(f"/api/v1/grants/{approved.pk}/close/").status_code == 409
    submitted = ttl.post(url(approved, "submit/"), {"comment": "Done."}, format="json")
    assert submitted.status_code == 200 and submitted.json()["submitted_at"]
    assert ttl.get(f"/api/v1/grants/{approved.pk}/").json()["status"] == "completed"
    # Submitted: the leader can no longer change it.
    assert ttl.put(url(approved), REPORT, format="json").status_code == 409
    # Not accepted yet: closing is refused.
    assert fm.post(f"/api/v1/grants/{approved.pk}/close/").json()["code"] == "invalid_transition"
    accepted = fm.post(url(approved, "accept/"))
    assert accepted.status_code == 200 and accepted.json()["accepted_at"]
    assert fm.post(url(approved, "accept/")).status_code == 409  # once only

    closed = fm.post(f"/api/v1/grants/{approved.pk}/close/")

    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    available_after = Decimal(fm.get("/api/v1/fund/").json()["available_usd"])
    assert available_after - available_before == Decimal("40000.00")
    actions = [h["action"] for h in ttl.get(f"/api/v1/grants/{approved.pk}/history/").json()]
    assert actions[-3:] == ["complete", "accept-report", "close"]
