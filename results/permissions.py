"""Who may read and write completion reports (API.md roles), as named rules."""

from grants.permissions import is_leader_of
from partners.roles import is_donor, is_fund_manager

from .models import CompletionReport


def can_see_report(user, report: CompletionReport | None, grant) -> bool:
    """Fund managers read all; the leader reads their own; donors read accepted ones.
    Anyone else gets a 404, as if there were no report."""
    if is_fund_manager(user) or is_leader_of(user, grant):
        return True
    return bool(is_donor(user) and report is not None and report.accepted_at is not None)


def can_write_report(user, grant) -> tuple[bool, str]:
    if is_leader_of(user, grant):
        return True, ""
    return False, "Only the grant's task team leader writes its completion report."


def can_accept_report(user, grant) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, "Only fund managers accept completion reports."
