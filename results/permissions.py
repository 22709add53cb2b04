"""Who may read and write completion reports and results stories (API.md roles), as
named rules."""

from grants.permissions import is_leader_of
from partners.roles import is_donor, is_fund_manager, is_task_team_leader, user_roles

from .models import CompletionReport


def can_see_report(user, report: CompletionReport | None, grant) -> bool:
    """Fund managers read all; a leader reads their own at any stage; donors and other
    leaders read accepted ones (the lessons the fund disseminates). Anyone else gets a
    404, as if there were no report."""
    if is_fund_manager(user) or is_leader_of(user, grant):
        return True
    accepted = report is not None and report.accepted_at is not None
    return bool(accepted and (is_donor(user) or is_task_team_leader(user)))


def can_write_report(user, grant) -> tuple[bool, str]:
    if is_leader_of(user, grant):
        return True, ""
    return False, "Only the grant's task team leader writes its completion report."


def can_accept_report(user, grant) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, "Only fund managers accept completion reports."


# --- Results stories and lessons ---------------------------------------------------------


def can_see_story_drafts(user) -> bool:
    """Fund managers (and superusers) see drafts; everyone else, anonymous users
    included, sees published stories only, and a draft is a 404 to them."""
    return bool(user and user.is_authenticated and is_fund_manager(user))


def can_write_stories(user) -> tuple[bool, str]:
    if user and user.is_authenticated and is_fund_manager(user):
        return True, ""
    return False, "Only fund managers write and publish results stories."


def can_read_lessons(user) -> tuple[bool, str]:
    """The knowledge hub's lessons come from completion reports, which API.md keeps from
    anonymous users and from users without a role."""
    if user.is_superuser or user_roles(user):
        return True, ""
    return False, "Only fund managers, task team leaders and donors read lessons."
