"""The grant workflow, declared as data: which action moves a grant from which statuses
to which, and whose rule allows it. ``services.grant_transition`` is the one place that
applies it, for the API and the web pages alike."""

from collections.abc import Callable
from dataclasses import dataclass

from . import permissions
from .models import GrantStatus as S


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    rule: Callable


def _t(action, sources, target, rule):
    return Transition(action, frozenset(sources), target, rule)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t("submit", [S.DRAFT, S.RETURNED], S.SUBMITTED, permissions.can_submit_grant),
        _t("start-review", [S.SUBMITTED], S.UNDER_REVIEW, permissions.can_decide_grant),
        _t("return", [S.SUBMITTED, S.UNDER_REVIEW], S.RETURNED, permissions.can_decide_grant),
        _t("reject", [S.SUBMITTED, S.UNDER_REVIEW], S.REJECTED, permissions.can_decide_grant),
        _t("approve", [S.SUBMITTED, S.UNDER_REVIEW], S.APPROVED, permissions.can_approve_grant),
        _t("cancel", [S.APPROVED], S.CANCELLED, permissions.can_decide_grant),
        # The leader submits the completion report (results app): approved -> completed.
        _t("complete", [S.APPROVED], S.COMPLETED, permissions.can_edit_grant),
        _t("close", [S.COMPLETED], S.CLOSED, permissions.can_decide_grant),
    ]
}

# Statuses in which the leader may still edit the proposal itself.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.RETURNED})
# Statuses in which exchanges may be added or changed (the leader plans them in the
# proposal; once approved, the leader and fund managers record what happens).
EXCHANGE_STATUSES_FOR_LEADER = frozenset({S.DRAFT, S.RETURNED, S.APPROVED})
EXCHANGE_STATUSES_FOR_MANAGER = frozenset({S.APPROVED})
DISBURSABLE_STATUSES = frozenset({S.APPROVED, S.COMPLETED})
