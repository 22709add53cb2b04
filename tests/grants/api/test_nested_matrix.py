"""Exchanges and disbursements, nested under a grant: who may add them at which status.

Expectations from API.md: the leader plans exchanges while the proposal is a draft or
returned and records them once approved; fund managers record them once approved;
disbursements are fund managers' only, on approved or completed grants. 401 without
credentials, 404 for a grant one cannot see, 403 for a role that may not, 409 for a
status that does not allow it. Runs on the module's shared ``world``.
"""

import pytest

from grants.models import Disbursement, Exchange, GrantStatus
from tests.grants.conftest import GRANT_VISIBLE, ROLES, grant_state

S = GrantStatus
ALL_STATUSES = list(S.values)

LEADER_EXCHANGE_STATUSES = {S.DRAFT, S.RETURNED, S.APPROVED}
MANAGER_EXCHANGE_STATUSES = {S.APPROVED}
EXCHANGE_STATUSES = {
    "leader": LEADER_EXCHANGE_STATUSES,
    "fund_manager": MANAGER_EXCHANGE_STATUSES,
    "fm_leader": LEADER_EXCHANGE_STATUSES | MANAGER_EXCHANGE_STATUSES,
}
DISBURSERS = {"fund_manager", "fm_leader"}
DISBURSABLE = {S.APPROVED, S.COMPLETED}


def owner_of(role):
    return "fm_leader" if role == "fm_leader" else "leader"


def expected_exchange(status, role):
    if role == "anonymous":
        return 401, None
    if status not in GRANT_VISIBLE[role]:
        return 404, None
    if role not in EXCHANGE_STATUSES:
        return 403, "permission_denied"
    if status not in EXCHANGE_STATUSES[role]:
        return 409, "invalid_transition"
    return 201, None


def expected_disbursement(status, role, *, write=True):
    if role == "anonymous":
        return 401, None
    if status not in GRANT_VISIBLE[role]:
        return 404, None
    if role not in DISBURSERS:
        return 403, "permission_denied"
    if write and status not in DISBURSABLE:
        return 409, "invalid_transition"
    return (201 if write else 200), None


EXCHANGE = {
    "instrument": "study_tour",
    "title": "Study tour to Mexico City",
    "provider_countries": ["MEX"],
    "recipient_countries": ["HND"],
    "start_date": "2026-02-01",
    "end_date": "2026-02-07",
    "location": "Mexico City",
    "participants": 12,
    "women_participants": 5,
}

CASES = [
    pytest.param(status, role, id=f"{status}-{role}") for status in ALL_STATUSES for role in ROLES
]


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "role"), CASES)
def test_add_an_exchange(status, role, world, clients):
    grant_id = world["grants"][owner_of(role), status, ""]
    before = grant_state(grant_id)
    response = clients[role].post(f"/api/v1/grants/{grant_id}/exchanges/", EXCHANGE, format="json")
    want, code = expected_exchange(status, role)
    assert response.status_code == want, response.content
    if want != 201:
        if code:
            assert response.json()["code"] == code
        assert grant_state(grant_id) == before
        return
    exchange = Exchange.objects.get(pk=response.json()["id"])
    assert exchange.grant_id == grant_id
    assert response.json() == {
        "id": exchange.pk,
        **EXCHANGE,
        "status": "planned",
    }
    assert [c.code for c in exchange.provider_countries.all()] == ["MEX"]
    assert (exchange.participants, exchange.women_participants) == (12, 5)


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "role"), CASES)
def test_read_the_exchanges(status, role, world, clients):
    grant_id = world["grants"][owner_of(role), status, ""]
    response = clients[role].get(f"/api/v1/grants/{grant_id}/exchanges/")
    if role == "anonymous":
        assert response.status_code == 401
    elif status not in GRANT_VISIBLE[role]:
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        assert response.json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "role"), CASES)
def test_record_a_disbursement(status, role, world, clients):
    grant_id = world["grants"][owner_of(role), status, ""]
    before = grant_state(grant_id)
    body = {"amount_usd": "25000.00", "disbursed_on": "2026-02-15", "purpose": "Flights"}
    response = clients[role].post(f"/api/v1/grants/{grant_id}/disbursements/", body, format="json")
    want, code = expected_disbursement(status, role)
    assert response.status_code == want, response.content
    if want != 201:
        if code:
            assert response.json()["code"] == code
        assert grant_state(grant_id) == before
        return
    assert response.json() == {"id": response.json()["id"], **body, "reverses": None, "reason": ""}
    disbursement = Disbursement.objects.get(pk=response.json()["id"])
    assert (disbursement.grant_id, disbursement.recorded_by_id) == (
        grant_id,
        world["users"][role].pk,
    )
    after = grant_state(grant_id)
    assert after["grant"]["disbursed_usd"] == before["grant"]["disbursed_usd"] + 25000
    assert after["fund"][2] == before["fund"][2] + 25000  # the fund's disbursed_usd
    assert after["fund"][:2] == before["fund"][:2]


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "role"), CASES)
def test_read_the_disbursements(status, role, world, clients):
    grant_id = world["grants"][owner_of(role), status, ""]
    response = clients[role].get(f"/api/v1/grants/{grant_id}/disbursements/")
    want, code = expected_disbursement(status, role, write=False)
    assert response.status_code == want, response.content
    if code:
        assert response.json()["code"] == code
    if want == 200:
        assert response.json()["count"] == 0
