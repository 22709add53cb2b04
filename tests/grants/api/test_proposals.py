"""Creating and editing proposals: server-owned fields cannot be set by any client
(mass assignment), and every rule on a proposal is a 400 naming its field that writes
nothing."""

from decimal import Decimal

import pytest

from grants.models import Grant, GrantHistory, GrantStatus
from partners.models import PartnerKind
from tests.factories import PartnerFactory
from tests.grants.conftest import grant_state
from tests.grants.factories import make_grant

S = GrantStatus
pytestmark = pytest.mark.django_db


def payload(**overrides) -> dict:
    data = {
        "title": "Land registration for Mozambique",
        "summary": "Mozambique's cadastre learns from Rwanda.",
        "sector": "31120",
        "region": "AFR",
        "recipient_countries": ["MOZ"],
        "provider_countries": ["RWA"],
        "requested_usd": "150000.00",
        "planned_start": "2026-03-01",
        "planned_end": "2026-09-30",
        "targeted_outcomes": ["enhanced_networks"],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


# --- Mass assignment ------------------------------------------------------------------------


def server_owned(other_user) -> dict:
    """Every server-owned field a client might try to set."""
    return {
        "status": "approved",
        "reference": "SEETF-2020-9999",
        "approved_usd": "150000.00",
        "disbursed_usd": "5000.00",
        "task_team_leader": other_user.pk,
        "submitted_at": "2020-01-01T00:00:00Z",
        "decided_at": "2020-01-02T00:00:00Z",
        "completion_report_due": "2020-03-01",
        "id": 999999,
    }


def test_create_ignores_server_owned_fields(funded, leader, leader2, client_for):
    response = client_for(leader).post(
        "/api/v1/grants/", {**payload(), **server_owned(leader2)}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    grant = Grant.objects.get()
    assert body["id"] == grant.pk != 999999
    assert (grant.status, grant.reference, grant.approved_usd, grant.disbursed_usd) == (
        S.DRAFT,
        None,
        None,
        Decimal("0.00"),
    )
    assert grant.task_team_leader_id == leader.pk
    assert (grant.submitted_at, grant.decided_at) == (None, None)
    assert str(grant.completion_report_due) == "2026-11-29"  # planned_end + 60 days
    assert (body["status"], body["reference"], body["approved_usd"], body["disbursed_usd"]) == (
        "draft",
        None,
        None,
        "0.00",
    )
    assert body["task_team_leader"] == leader.pk
    assert list(grant.history.values_list("action", "to_status", "actor")) == [
        ("create", "draft", leader.pk)
    ]


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("status", [S.DRAFT, S.RETURNED])
def test_the_leader_edits_the_proposal_but_not_server_owned_fields(
    method, status, funded, leader, leader2, fund_manager, client_for
):
    grant = make_grant(leader, status, manager=fund_manager)
    before = grant_state(grant.pk)
    body = {"title": "A better title", **server_owned(leader2)}
    if method == "put":
        body = {**payload(title="A better title"), **server_owned(leader2)}
    response = getattr(client_for(leader), method)(
        f"/api/v1/grants/{grant.pk}/", body, format="json"
    )
    assert response.status_code == 200, response.json()
    after = grant_state(grant.pk)
    assert after["grant"]["title"] == "A better title"
    for field in (
        "id",
        "status",
        "reference",
        "approved_usd",
        "disbursed_usd",
        "released_usd",
        "task_team_leader_id",
        "submitted_at",
        "decided_at",
    ):
        assert after["grant"][field] == before["grant"][field], field
    assert response.json()["status"] == status
    assert response.json()["reference"] == before["grant"]["reference"]
    assert after["fund"] == before["fund"]


@pytest.mark.parametrize(
    ("role", "status", "expected"),
    [
        ("fund_manager", S.DRAFT, 404),
        ("fund_manager", S.SUBMITTED, 403),
        ("fund_manager", S.RETURNED, 403),
        ("fund_manager", S.APPROVED, 403),
        ("donor", S.DRAFT, 404),
        ("donor", S.SUBMITTED, 404),
        ("donor", S.APPROVED, 403),
        ("other_leader", S.DRAFT, 404),
        ("other_leader", S.RETURNED, 404),
        ("other_leader", S.APPROVED, 403),
        ("anonymous", S.DRAFT, 401),
        ("anonymous", S.APPROVED, 401),
    ],
)
def test_no_one_else_edits_a_grant(
    role, status, expected, funded, leader, leader2, fund_manager, client_for
):
    grant = make_grant(leader, status, manager=fund_manager)
    before = grant_state(grant.pk)
    client = client_for(role)
    for body in ({"title": "Hijacked"}, server_owned(leader2), {"requested_usd": "0"}):
        response = client.patch(f"/api/v1/grants/{grant.pk}/", body, format="json")
        assert response.status_code == expected, response.content
        if expected == 403:
            assert response.json()["code"] == "permission_denied"
    response = client.put(f"/api/v1/grants/{grant.pk}/", payload(), format="json")
    assert response.status_code == expected
    assert grant_state(grant.pk) == before


@pytest.mark.parametrize(
    ("role", "expected"),
    [("fund_manager", 403), ("donor", 403), ("anonymous", 401)],
)
def test_only_task_team_leaders_create_grants(role, expected, funded, client_for, leader):
    response = client_for(role).post(
        "/api/v1/grants/", {**payload(), **server_owned(leader)}, format="json"
    )
    assert response.status_code == expected
    assert Grant.objects.count() == 0
    assert GrantHistory.objects.count() == 0


def test_a_user_without_a_role_cannot_create(no_role_user, client_for):
    response = client_for(no_role_user).post("/api/v1/grants/", payload(), format="json")
    assert response.status_code == 403
    assert Grant.objects.count() == 0


def test_another_leader_creates_their_own_grant(leader, leader2, client_for):
    response = client_for(leader2).post(
        "/api/v1/grants/", {**payload(), "task_team_leader": leader.pk}, format="json"
    )
    assert response.status_code == 201
    assert Grant.objects.get().task_team_leader_id == leader2.pk


# --- Validation -------------------------------------------------------------------------------


def not_a_donor_partner_id():
    return PartnerFactory(kind=PartnerKind.NEW_DEVELOPMENT_PARTNER).pk


INVALID = [
    pytest.param({"planned_end": "2026-02-28"}, "planned_end", id="end-before-start"),
    pytest.param({"recipient_countries": []}, "recipient_countries", id="no-recipient"),
    pytest.param({"recipient_countries": ...}, "recipient_countries", id="recipient-missing"),
    pytest.param({"recipient_countries": ["XXX"]}, "recipient_countries", id="unknown-country"),
    pytest.param(
        {"recipient_countries": ["MOZ", "RWA"], "provider_countries": ["RWA"]},
        "provider_countries",
        id="provider-is-recipient",
    ),
    pytest.param({"sector": "99999"}, "sector", id="unknown-sector"),
    pytest.param({"sector": "abc"}, "sector", id="malformed-sector"),
    pytest.param({"sector": ...}, "sector", id="sector-missing"),
    pytest.param({"region": "XYZ"}, "region", id="unknown-region"),
    pytest.param({"targeted_outcomes": ["world_peace"]}, "targeted_outcomes", id="unknown-outcome"),
    pytest.param({"requested_usd": "0"}, "requested_usd", id="requested-zero"),
    pytest.param({"requested_usd": "-100.00"}, "requested_usd", id="requested-negative"),
    pytest.param({"requested_usd": "10000000.01"}, "requested_usd", id="requested-over-max"),
    pytest.param({"requested_usd": "100.001"}, "requested_usd", id="requested-three-places"),
    pytest.param({"requested_usd": "NaN"}, "requested_usd", id="requested-nan"),
    pytest.param({"requested_usd": ...}, "requested_usd", id="requested-missing"),
    pytest.param({"title": ""}, "title", id="title-blank"),
    pytest.param({"planned_start": "2026-02-30"}, "planned_start", id="impossible-date"),
    pytest.param({"facilitating_partners": [987654]}, "facilitating_partners", id="no-partner"),
    pytest.param({"facilitating_partners": "not-a-donor"}, "facilitating_partners", id="ndp"),
]


@pytest.mark.parametrize(("overrides", "field"), INVALID)
def test_an_invalid_proposal_is_refused_on_its_field(overrides, field, leader, client_for):
    if overrides.get("facilitating_partners") == "not-a-donor":
        overrides = {"facilitating_partners": [not_a_donor_partner_id()]}
    response = client_for(leader).post("/api/v1/grants/", payload(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert Grant.objects.count() == 0
    assert GrantHistory.objects.count() == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"requested_usd": "10000000.00"},
        {"requested_usd": "0.01"},
        {"planned_end": "2026-03-01"},
        {"provider_countries": []},
        {"targeted_outcomes": []},
    ],
    ids=["max", "min", "one-day", "no-provider", "no-outcome"],
)
def test_the_limits_themselves_are_accepted(overrides, leader, client_for):
    response = client_for(leader).post("/api/v1/grants/", payload(**overrides), format="json")
    assert response.status_code == 201, response.json()


def test_a_traditional_donor_facilitates(leader, client_for):
    partner = PartnerFactory(kind=PartnerKind.TRADITIONAL_DONOR)
    response = client_for(leader).post(
        "/api/v1/grants/", payload(facilitating_partners=[partner.pk]), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["facilitating_partners"] == [partner.pk]


PATCH_INVALID = [
    pytest.param({"planned_end": "2025-12-31"}, "planned_end", id="end-before-kept-start"),
    pytest.param({"planned_start": "2026-07-01"}, "planned_end", id="start-after-kept-end"),
    pytest.param({"recipient_countries": []}, "recipient_countries", id="no-recipient"),
    pytest.param({"provider_countries": ["HND"]}, "provider_countries", id="kept-recipient"),
    pytest.param({"sector": "99999"}, "sector", id="unknown-sector"),
    pytest.param({"targeted_outcomes": ["x"]}, "targeted_outcomes", id="unknown-outcome"),
    pytest.param({"requested_usd": "0.00"}, "requested_usd", id="zero"),
    pytest.param({"requested_usd": "-1"}, "requested_usd", id="negative"),
    pytest.param({"requested_usd": "10000000.01"}, "requested_usd", id="over-max"),
    pytest.param({"facilitating_partners": "not-a-donor"}, "facilitating_partners", id="ndp"),
]


@pytest.mark.parametrize(("body", "field"), PATCH_INVALID)
def test_an_invalid_edit_is_refused_on_its_field(body, field, funded, leader, client_for):
    grant = make_grant(leader)  # recipient HND, provider MEX, 2026-01-10 to 2026-06-30
    if body.get("facilitating_partners") == "not-a-donor":
        body = {"facilitating_partners": [not_a_donor_partner_id()]}
    before = grant_state(grant.pk)
    response = client_for(leader).patch(f"/api/v1/grants/{grant.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert grant_state(grant.pk) == before


@pytest.mark.parametrize(
    "status",
    [S.SUBMITTED, S.UNDER_REVIEW, S.REJECTED, S.APPROVED, S.COMPLETED, S.CLOSED, S.CANCELLED],
)
def test_the_leader_cannot_edit_outside_draft_or_returned(
    status, funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, status, manager=fund_manager)
    before = grant_state(grant.pk)
    client = client_for(leader)
    # 409 whatever the body: the status is checked before the form.
    for body in ({"title": "Too late"}, {"requested_usd": "0"}):
        response = client.patch(f"/api/v1/grants/{grant.pk}/", body, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"
    assert grant_state(grant.pk) == before


def test_an_edit_recomputes_the_report_due_date_and_replaces_countries(funded, leader, client_for):
    grant = make_grant(leader)
    response = client_for(leader).patch(
        f"/api/v1/grants/{grant.pk}/",
        {"planned_end": "2026-10-31", "recipient_countries": ["GTM", "SLV"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["completion_report_due"] == "2026-12-30"
    assert sorted(response.json()["recipient_countries"]) == ["GTM", "SLV"]
    assert response.json()["provider_countries"] == ["MEX"]
