"""The grant workflow through the API: every action x every source status x every role.

The expected answer of each case comes from the tables below, copied from API.md (roles,
the transition table, completion reports), never from the code under test. The checks
happen in this order: no credentials (401), visibility (404), role (403), status (409).

Speed: the 540 cases share the module's ``world`` (tests/grants/conftest.py): its users,
fund and grants at every status are made once, and each case runs in a savepoint that
undoes what it wrote.
"""

from decimal import Decimal

import pytest

from grants.api.views import GrantViewSet
from grants.models import GrantHistory, GrantStatus
from tests.grants.conftest import GRANT_VISIBLE, ROLES, grant_state

S = GrantStatus
ALL_STATUSES = list(S.values)
FUND_MANAGERS = {"fund_manager", "fm_leader"}
ITS_LEADERS = {"leader", "fm_leader"}

# action: (source statuses, target status, roles allowed, history action written)
MOVES = {
    "submit": ({S.DRAFT, S.RETURNED}, S.SUBMITTED, ITS_LEADERS, "submit"),
    "start-review": ({S.SUBMITTED}, S.UNDER_REVIEW, FUND_MANAGERS, "start-review"),
    "return": ({S.SUBMITTED, S.UNDER_REVIEW}, S.RETURNED, FUND_MANAGERS, "return"),
    "reject": ({S.SUBMITTED, S.UNDER_REVIEW}, S.REJECTED, FUND_MANAGERS, "reject"),
    # A fund manager who leads the grant may not approve it (403 self_approval).
    "approve": ({S.SUBMITTED, S.UNDER_REVIEW}, S.APPROVED, {"fund_manager"}, "approve"),
    "cancel": ({S.APPROVED}, S.CANCELLED, FUND_MANAGERS, "cancel"),
    "close": ({S.COMPLETED}, S.CLOSED, FUND_MANAGERS, "close"),
    # POST .../completion-report/submit/: the leader completes an approved grant.
    "report-submit": ({S.APPROVED}, S.COMPLETED, ITS_LEADERS, "complete"),
    # POST .../completion-report/accept/: a decision that keeps the grant completed.
    "report-accept": ({S.COMPLETED}, S.COMPLETED, FUND_MANAGERS, "accept-report"),
    # POST .../completion-report/return/: the report back to its leader, the grant
    # approved again.
    "report-return": ({S.COMPLETED}, S.APPROVED, FUND_MANAGERS, "return-report"),
}
REPORT_ACTIONS = {"report-submit", "report-accept", "report-return"}

# The completion report each status has in these tests: written (not submitted) while
# approved, submitted once completed, accepted once closed; none before approval or
# on a cancelled grant. For `close`, a completed grant's report is accepted (closing
# without an accepted report is refused, tested in test_workflow.py).
REPORT_AT = {S.APPROVED: "written", S.COMPLETED: "submitted", S.CLOSED: "accepted"}


def report_visible(role: str, status: str) -> bool:
    """Completion reports: fund managers read all, the leader their own at any stage,
    donors and other leaders the accepted ones (a report one may not see is a 404)."""
    if role in FUND_MANAGERS or role in ITS_LEADERS:
        return True
    return role in ("donor", "other_leader") and REPORT_AT.get(status) == "accepted"


def expected(action: str, status: str, role: str) -> tuple[int, str | None]:
    sources, _, allowed, _ = MOVES[action]
    if role == "anonymous":
        return 401, None
    if status not in GRANT_VISIBLE[role]:
        return 404, None
    if action in REPORT_ACTIONS and not report_visible(role, status):
        return 404, None
    if role not in allowed:
        if action == "approve" and role == "fm_leader":
            return 403, "self_approval"
        return 403, "permission_denied"
    if status not in sources:
        return 409, "invalid_transition"
    return 200, None


def url(grant_id: int, action: str) -> str:
    if action == "report-submit":
        return f"/api/v1/grants/{grant_id}/completion-report/submit/"
    if action == "report-accept":
        return f"/api/v1/grants/{grant_id}/completion-report/accept/"
    if action == "report-return":
        return f"/api/v1/grants/{grant_id}/completion-report/return/"
    return f"/api/v1/grants/{grant_id}/{action}/"


def grant_for(world, action: str, status: str, role: str) -> int:
    owner = "fm_leader" if role == "fm_leader" else "leader"
    variant = ""
    if action == "report-submit" and status == S.APPROVED:
        variant = "report written"
    elif action == "close" and status == S.COMPLETED:
        variant = "report accepted"
    return world["grants"][owner, status, variant]


CASES = [
    pytest.param(action, status, role, id=f"{action}-{status}-{role}")
    for action in MOVES
    for status in ALL_STATUSES
    for role in ROLES
]


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "status", "role"), CASES)
def test_workflow_action(action, status, role, world, clients):
    user = world["users"][role]
    grant_id = grant_for(world, action, status, role)
    before = grant_state(grant_id)
    assert before["grant"]["status"] == status
    comment = f"{action} by {role}"
    body = {"comment": comment}
    if action == "approve":
        body["approved_usd"] = "90000.00"

    response = clients[role].post(url(grant_id, action), body, format="json")

    want_status, want_code = expected(action, status, role)
    assert response.status_code == want_status, response.content
    if want_status != 200:
        if want_code is not None:
            assert response.json()["code"] == want_code
            assert response.json()["detail"]
        assert grant_state(grant_id) == before, "a refused request wrote something"
        return

    _, target, _, history_action = MOVES[action]
    after = grant_state(grant_id)
    assert after["grant"]["status"] == target
    if action not in REPORT_ACTIONS:
        assert response.json()["status"] == target
        assert response.json()["id"] == grant_id
    new_rows = GrantHistory.objects.filter(grant_id=grant_id).exclude(pk__in=before["history"])
    row = new_rows.get()
    assert (row.actor_id, row.action, row.from_status, row.to_status, row.comment) == (
        user.pk,
        history_action,
        status,
        target,
        comment,
    )
    owner = "fm_leader" if role == "fm_leader" else "leader"
    history = clients[owner].get(f"/api/v1/grants/{grant_id}/history/").json()
    assert history[-1] == {
        "at": history[-1]["at"],
        "actor": user.username,
        "action": history_action,
        "from_status": status,
        "to_status": target,
        "comment": comment,
    }
    # Money moves only where the table says so.
    committed_change = after["fund"][1] - before["fund"][1]
    if action == "approve":
        assert committed_change == Decimal("90000.00")
        assert after["grant"]["approved_usd"] == Decimal("90000.00")
    elif action in ("cancel", "close"):
        # Nothing was disbursed: the whole approved amount goes back to the fund.
        assert committed_change == -before["grant"]["approved_usd"]
        assert after["grant"]["released_usd"] == before["grant"]["approved_usd"]
    else:
        assert committed_change == 0


def test_the_table_covers_every_action_status_and_role():
    """MOVES has a row for each workflow action the API offers on a grant (its POST
    actions, and the completion report's submit, accept and return), and the statuses
    walked are the contract's."""
    offered = {a.url_path for a in GrantViewSet.get_extra_actions() if "post" in a.mapping}
    # Follow-ons are no move of the workflow (tests/results/api/test_follow_up_matrix.py).
    offered -= {"propose-follow-on", "link-parent"}
    assert set(MOVES) == offered | REPORT_ACTIONS
    assert set(ALL_STATUSES) == {
        "draft",
        "submitted",
        "under_review",
        "returned",
        "rejected",
        "approved",
        "completed",
        "closed",
        "cancelled",
    }
    # Every action is allowed somewhere and refused somewhere.
    outcomes = {a: {expected(a, s, r)[0] for s in ALL_STATUSES for r in ROLES} for a in MOVES}
    assert all({200, 401, 403, 404, 409} <= seen for seen in outcomes.values())
