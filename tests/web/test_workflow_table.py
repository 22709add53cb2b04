"""The workflow is one table (grants.workflow): an action added to it is offered on the
grant page, in the API's ``allowed_actions`` and named in the history, with no other
edit; and what ``allowed_actions`` says is what the action itself answers."""

from decimal import Decimal

import pytest

from grants import workflow
from grants.forms import CommentForm
from grants.models import GrantHistory, GrantStatus
from grants.permissions import can_decide_grant
from partners.roles import Role
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant
from tests.web.pages import page

pytestmark = pytest.mark.django_db

S = GrantStatus

# The actions with an endpoint of their own, and a body each accepts when it may be taken.
API_ACTIONS = {
    "submit": {},
    "start-review": {},
    "return": {"comment": "Rework the budget."},
    "reject": {"comment": "Outside the mandate."},
    "approve": {"approved_usd": "1000.00"},
    "cancel": {"comment": "The ministry withdrew."},
    "close": {},
}


def _flagged(step: workflow.Step) -> None:
    """The hypothetical action's effect: it stamps the decision date."""
    step.set(decided_at=step.now)


def _audit_flag():
    return workflow.Action(
        "flag-for-audit",
        frozenset({S.APPROVED}),
        None,
        can_decide_grant,
        history_label="Flagged for audit",
        done="%(ref)s was flagged for audit.",
        effect=_flagged,
        form=CommentForm,
        heading="Flag for audit",
        button="Flag it",
        style="secondary",
    )


def test_an_action_added_to_the_table_is_offered_taken_and_named_with_no_other_edit(
    web, leader, fund_manager, funded, client_for
):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager, approved_usd=Decimal("5000"))
    url = f"/grants/{grant.pk}/"
    assert page(web(fund_manager).get(url)).find(data_testid="flag-for-audit-form") is None

    with workflow.registered(_audit_flag()):
        root = page(web(fund_manager).get(url))
        form = root.testid("flag-for-audit-form")
        assert form.attrs["action"] == f"/grants/{grant.pk}/actions/flag-for-audit/"
        assert form.find("h3").text == "Flag for audit"
        assert form.find("button").text == "Flag it"
        assert form.find("button").attrs["class"] == "button button--secondary"
        # Not offered to the leader, and the API says why, with the rule's own words.
        assert page(web(leader).get(url)).find(data_testid="flag-for-audit-form") is None
        for user, allowed, reason in [
            (fund_manager, True, ""),
            (leader, False, "Only fund managers decide on grants."),
        ]:
            body = client_for(user).get(f"/api/v1/grants/{grant.pk}/").json()
            row = next(a for a in body["allowed_actions"] if a["action"] == "flag-for-audit")
            assert (row["allowed"], row["reason"]) == (allowed, reason)

        response = web(fund_manager).post(
            f"/grants/{grant.pk}/actions/flag-for-audit/", {"comment": "Check the receipts."}
        )
        assert response.status_code == 302
        row = GrantHistory.objects.get(grant=grant, action="flag-for-audit")
        assert (row.from_status, row.to_status, row.comment) == (
            S.APPROVED,
            S.APPROVED,
            "Check the receipts.",
        )
        decided_before = grant.decided_at
        grant.refresh_from_db()
        # The effect ran, in the same step: the decision date moved, the status stayed.
        assert grant.status == S.APPROVED
        assert decided_before < grant.decided_at <= row.at
        history = page(web(fund_manager).get(url)).testid("history")
        labels = [li.find("strong").text for li in history.find_all(data_testid="history-row")]
        assert labels[-1] == "Flagged for audit"

    # Out of the table again: neither offered nor accepted.
    assert page(web(fund_manager).get(url)).find(data_testid="flag-for-audit-form") is None
    response = web(fund_manager).post(f"/grants/{grant.pk}/actions/flag-for-audit/", {})
    assert response.status_code == 404


def test_every_action_of_the_table_is_in_allowed_actions_in_its_order(
    leader, fund_manager, funded, client_for
):
    grant = make_grant(leader, S.SUBMITTED)
    body = client_for(fund_manager).get(f"/api/v1/grants/{grant.pk}/").json()
    assert [a["action"] for a in body["allowed_actions"]] == list(workflow.WORKFLOW)
    by_name = {a["action"]: a for a in body["allowed_actions"]}
    assert by_name["approve"] == {"action": "approve", "allowed": True, "reason": "", "code": ""}
    assert by_name["close"]["code"] == "invalid_transition"


def test_the_api_offers_an_endpoint_for_each_action_that_declares_a_request(client_for, leader):
    from grants.api.views import GrantViewSet

    routes = {extra.url_path for extra in GrantViewSet.get_extra_actions()}
    declared = {a.name for a in workflow.WORKFLOW.values() if a.request is not None}
    assert declared == set(API_ACTIONS)
    assert declared <= routes


def _states(leader, fund_manager, fm_leader):
    """A grant in each state a decision can meet, the report's stages included."""
    grants = {
        status: make_grant(leader, status, manager=fund_manager, approved_usd=Decimal("5000"))
        for status in (S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.RETURNED, S.APPROVED, S.REJECTED)
    }
    grants["completed, report not accepted"] = finished_grant(
        leader, fund_manager, status=S.COMPLETED, accept=False
    )
    grants["completed, report accepted"] = finished_grant(leader, fund_manager, status=S.COMPLETED)
    grants["self-led"] = make_grant(fm_leader, S.SUBMITTED)
    return grants


def test_allowed_actions_say_what_each_action_answers(
    leader, leader2, fund_manager, donor, make_user, funded, client_for
):
    """For every role, state and action: what the detail's ``allowed_actions`` says, the
    action's endpoint answers (allowed: done; refused: the same status, code and reason),
    and a refused action writes nothing."""
    fm_leader = make_user("fm-ttl", Role.FUND_MANAGER, Role.TASK_TEAM_LEADER)
    checked, codes = 0, set()
    for state, grant in _states(leader, fund_manager, fm_leader).items():
        for user in (leader, leader2, fund_manager, fm_leader, donor):
            client = client_for(user)
            detail = client.get(f"/api/v1/grants/{grant.pk}/")
            if detail.status_code == 404:
                continue  # not visible: every action is a 404 too (tested elsewhere)
            verdicts = {a["action"]: a for a in detail.json()["allowed_actions"]}
            for name, body in API_ACTIONS.items():
                grant.refresh_from_db()
                history = GrantHistory.objects.filter(grant=grant).count()
                verdict = verdicts[name]
                if verdict["allowed"]:
                    continue  # taking it would change the state the next checks read
                response = client.post(f"/api/v1/grants/{grant.pk}/{name}/", body, format="json")
                expected = 403 if verdict["code"] in ("permission_denied", "self_approval") else 409
                assert response.status_code == expected, (state, user.username, name)
                assert response.json() == {"detail": verdict["reason"], "code": verdict["code"]}
                assert GrantHistory.objects.filter(grant=grant).count() == history
                checked += 1
                codes.add(verdict["code"])
    assert checked > 100
    assert codes == {"permission_denied", "self_approval", "invalid_transition"}


@pytest.mark.parametrize("name", sorted(API_ACTIONS))
def test_an_allowed_action_is_taken(name, leader, fund_manager, funded, client_for):
    start = {
        "submit": S.DRAFT,
        "start-review": S.SUBMITTED,
        "return": S.UNDER_REVIEW,
        "reject": S.SUBMITTED,
        "approve": S.UNDER_REVIEW,
        "cancel": S.APPROVED,
    }
    if name == "close":
        grant = finished_grant(leader, fund_manager, status=S.COMPLETED)
    else:
        grant = make_grant(leader, start[name], manager=fund_manager, approved_usd=Decimal("5000"))
    user = leader if name == "submit" else fund_manager
    client = client_for(user)
    verdicts = {
        a["action"]: a for a in client.get(f"/api/v1/grants/{grant.pk}/").json()["allowed_actions"]
    }
    assert verdicts[name]["allowed"], verdicts[name]
    response = client.post(f"/api/v1/grants/{grant.pk}/{name}/", API_ACTIONS[name], format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == workflow.get(name).target
