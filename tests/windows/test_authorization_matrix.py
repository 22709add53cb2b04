"""The authorization matrix of funding windows, through the API: every role x every
workflow action on a grant of a window x every status x the role's own window (where a
window manager approves) or another; and every role x every window endpoint x own or
other window.

The expected answers come from API.md's tables (roles, the transition table, Funding
windows), never from the code under test. Order of the checks: no credentials (401),
visibility (404), role (403), status (409). As in tests/grants/api/test_workflow_matrix.py,
the users, fund, windows and grants are made once per module and each case runs in a
savepoint."""

from decimal import Decimal

import pytest

from grants.models import GrantHistory, GrantStatus
from partners.models import Window
from partners.roles import Role
from partners.services import user_create_or_update
from results import services as results_services
from tests.conftest import api_client
from tests.factories import fund_with
from tests.grants.conftest import grant_state, make_role_users, module_transaction
from tests.grants.factories import make_grant
from tests.windows.factories import make_window

S = GrantStatus
D = Decimal
ALL_STATUSES = list(S.values)
ROLES = [
    "leader",
    "other_leader",
    "fund_manager",
    "fm_leader",
    "donor",
    "window_manager",
    "anonymous",
]
WINDOWS = ["own", "other"]  # the window manager's own window (they approve there) or not
APPROVED_AND_LATER = {S.APPROVED, S.COMPLETED, S.CLOSED, S.CANCELLED}
FUND_MANAGERS = {"fund_manager", "fm_leader"}
ITS_LEADERS = {"leader", "fm_leader"}

# action: (sources, target, who may take it: a set of roles, "window_manager" meaning an
# approver of the grant's window)
MOVES = {
    "submit": ({S.DRAFT, S.RETURNED}, S.SUBMITTED, ITS_LEADERS),
    "start-review": ({S.SUBMITTED}, S.UNDER_REVIEW, FUND_MANAGERS | {"window_manager"}),
    "return": ({S.SUBMITTED, S.UNDER_REVIEW}, S.RETURNED, FUND_MANAGERS | {"window_manager"}),
    "reject": ({S.SUBMITTED, S.UNDER_REVIEW}, S.REJECTED, FUND_MANAGERS | {"window_manager"}),
    # fm_leader leads the grant: 403 self_approval.
    "approve": ({S.SUBMITTED, S.UNDER_REVIEW}, S.APPROVED, {"fund_manager", "window_manager"}),
    "cancel": ({S.APPROVED}, S.CANCELLED, FUND_MANAGERS),
    "close": ({S.COMPLETED}, S.CLOSED, FUND_MANAGERS),
}


def visible(role: str, status: str, window: str) -> bool:
    if role in ("leader", "fm_leader"):
        return True
    if role == "fund_manager":
        return status != S.DRAFT
    if role in ("other_leader", "donor"):
        return status in APPROVED_AND_LATER
    if role == "window_manager":
        return window == "own" and status != S.DRAFT
    return False


def expected(action, status, role, window) -> tuple[int, str | None]:
    sources, _, allowed = MOVES[action]
    if role == "anonymous":
        return 401, None
    if not visible(role, status, window):
        return 404, None
    if role not in allowed or (role == "window_manager" and window != "own"):
        if action == "approve" and role == "fm_leader":
            return 403, "self_approval"
        return 403, "permission_denied"
    if status not in sources:
        return 409, "invalid_transition"
    return 200, None


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            users = make_role_users("wx")
            users["window_manager"] = user_create_or_update(
                username="wx-wm", roles=[Role.WINDOW_MANAGER], password="x-pass-1"
            )
            manager = users["fund_manager"]
            fund_with("9000000.00")
            windows = {
                "own": make_window(
                    manager,
                    code="OWN",
                    allocate="3000000.00",
                    approvers=[(users["window_manager"], "150000.00")],
                ),
                "other": make_window(manager, code="OTHER", allocate="3000000.00"),
            }
            grants = {}
            for where, w in windows.items():
                for who in ("leader", "fm_leader"):
                    owner = users[who]
                    for status in ALL_STATUSES:
                        grants[where, who, status] = make_grant(
                            owner, status, manager=manager, window=w
                        ).pk
                    accepted = make_grant(owner, S.COMPLETED, manager=manager, window=w)
                    results_services.completion_report_accept(grant=accepted, user=manager)
                    grants[where, who, "completed, accepted"] = accepted.pk
        yield {"users": users, "grants": grants, "windows": windows}


@pytest.fixture(scope="module")
def clients(world):
    return {role: api_client(user) for role, user in world["users"].items()}


def window_rows():
    return list(Window.objects.order_by("pk").values())


CASES = [
    pytest.param(action, status, role, window, id=f"{action}-{status}-{role}-{window}")
    for action in MOVES
    for status in ALL_STATUSES
    for role in ROLES
    for window in WINDOWS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "status", "role", "window"), CASES)
def test_workflow_action_on_a_windows_grant(action, status, role, window, world, clients):
    owner = "fm_leader" if role == "fm_leader" else "leader"
    variant = "completed, accepted" if action == "close" and status == S.COMPLETED else status
    grant_id = world["grants"][window, owner, variant]
    before = grant_state(grant_id), window_rows()
    body = {"comment": f"{action} by {role}"}
    if action == "approve":
        body["approved_usd"] = "90000.00"

    response = clients[role].post(f"/api/v1/grants/{grant_id}/{action}/", body, format="json")

    want_status, want_code = expected(action, status, role, window)
    assert response.status_code == want_status, response.content
    if want_status != 200:
        if want_code:
            assert response.json()["code"] == want_code
        assert (grant_state(grant_id), window_rows()) == before, "a refusal wrote something"
        return
    assert response.json()["status"] == MOVES[action][1]
    row = GrantHistory.objects.filter(grant_id=grant_id).latest("id")
    assert (row.actor_id, row.action) == (world["users"][role].pk, action)
    w = Window.objects.get(pk=world["windows"][window].pk)
    w_before = next(r for r in before[1] if r["id"] == w.pk)
    if action == "approve":
        assert w.committed_usd - w_before["committed_usd"] == D("90000.00")
    elif action in ("cancel", "close"):
        assert w.committed_usd - w_before["committed_usd"] == -D("100000.00")
    else:
        assert w.committed_usd == w_before["committed_usd"]


# --- The window endpoints -----------------------------------------------------------------

ENDPOINTS = {
    # name: (method, path suffix or None for the list, body, success status)
    "list": ("get", None, None, 200),
    "retrieve": ("get", "", None, 200),
    "create": (
        "post",
        None,
        {
            "code": "NEW-W",
            "name": "New",
            "kind": "thematic",
            "max_grant_usd": "1000.00",
            "opens_on": "2026-01-01",
            "closes_on": "2026-12-31",
        },
        201,
    ),
    "update": ("patch", "", {"name": "Renamed"}, 200),
    "allocate": ("post", "allocate/", {"amount_usd": "1000.00"}, 200),
    "release": ("post", "release/", {"amount_usd": "1000.00"}, 200),
    "close": ("post", "close/", {}, 200),
}
READS = {"list", "retrieve"}


def endpoint_expected(name, role) -> int:
    if role == "anonymous":
        return 401
    if name in READS:
        return 200
    return ENDPOINTS[name][3] if role in FUND_MANAGERS else 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "role", "window"),
    [(n, r, w) for n in ENDPOINTS for r in ROLES for w in WINDOWS],
    ids=lambda v: str(v),
)
def test_window_endpoint(name, role, window, world, clients):
    method, suffix, body, _ = ENDPOINTS[name]
    w = world["windows"][window]
    path = "/api/v1/windows/" if suffix is None else f"/api/v1/windows/{w.pk}/{suffix}"
    before = window_rows()
    response = getattr(clients[role], method)(path, body, format="json")
    want = endpoint_expected(name, role)
    assert response.status_code == want, response.content
    if want >= 400:
        assert window_rows() == before
    if want == 403:
        assert response.json()["code"] == "permission_denied"
    if want == 200 and name == "retrieve":
        assert response.json()["code"] == w.code


def test_the_tables_cover_every_window_action():
    from partners.api.windows import WindowViewSet

    offered = {a.url_path for a in WindowViewSet.get_extra_actions()}
    assert offered | {"list", "retrieve", "create", "update"} == set(ENDPOINTS)
    outcomes = {
        a: {expected(a, s, r, w)[0] for s in ALL_STATUSES for r in ROLES for w in WINDOWS}
        for a in MOVES
    }
    assert all({200, 401, 403, 404, 409} <= seen for seen in outcomes.values())
