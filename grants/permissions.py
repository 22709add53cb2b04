"""Who may do what with a grant: rules as named functions returning (allowed, reason).

Visibility (what a user may see at all) is decided by ``selectors.grants_visible_to``;
these rules decide what a user who can see a grant may do with it (403 otherwise).
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from partners.roles import is_donor, is_fund_manager, is_task_team_leader, is_window_manager
from partners.selectors import approver_limits
from seetf.common.rules import Verdict

from .models import Grant


def is_leader_of(user, grant: Grant) -> bool:
    return grant.task_team_leader_id == user.pk


def can_create_grant(user) -> tuple[bool, str]:
    if is_task_team_leader(user):
        return True, ""
    return False, _("Only task team leaders propose grants.")


def can_edit_grant(user, grant: Grant) -> tuple[bool, str]:
    if is_leader_of(user, grant):
        return True, ""
    return False, _("Only the grant's task team leader edits the proposal.")


def can_submit_grant(user, grant: Grant) -> tuple[bool, str]:
    return can_edit_grant(user, grant)


def can_decide_grant(user, grant: Grant) -> tuple[bool, str]:
    """Start review, return, reject, cancel, close: the fund managers' decisions."""
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers decide on grants.")


def delegated_limit(user, grant: Grant) -> Decimal | None:
    """The most this user may approve of this grant as one of its window's approvers
    (a window manager named on the window); None when they are not one. Fund managers
    decide in every window without a limit: see ``approval_limit``."""
    if grant.window_id is None or not is_window_manager(user):
        return None
    return approver_limits(user).get(grant.window_id)


def approval_limit(user, grant: Grant) -> Decimal | None:
    """The limit on what this user may approve of the grant: None for a fund manager
    (the available money is the only bound), else their delegated limit."""
    if is_fund_manager(user):
        return None
    return delegated_limit(user, grant)


def can_review_grant(user, grant: Grant) -> tuple[bool, str]:
    """Start review, return, reject: fund managers, and on a grant of a funding window
    the window's approvers (window managers named on it)."""
    if is_fund_manager(user) or delegated_limit(user, grant) is not None:
        return True, ""
    if grant.window_id is not None:
        return False, _("Only fund managers and the window's approvers decide on this grant.")
    return False, _("Only fund managers decide on grants.")


def can_approve_grant(user, grant: Grant) -> tuple[bool, str] | Verdict:
    """A fund manager, or an approver of the grant's window, decides, but never on a
    grant they lead (403 ``self_approval``). An approver approves up to their limit (403
    ``over_delegated_limit``, checked with the amount by the workflow's effect)."""
    allowed, reason = can_review_grant(user, grant)
    if not allowed:
        return allowed, reason
    if is_leader_of(user, grant):
        who = "A fund manager" if is_fund_manager(user) else "A window's approver"
        return Verdict(
            False, _("%(who)s cannot approve a grant they lead.") % {"who": who}, "self_approval"
        )
    return True, ""


def can_see_report(user, report, grant: Grant) -> bool:
    """A grant's completion report (results): fund managers read all; a leader reads
    their own at any stage; donors and other leaders read accepted ones (the lessons
    the fund disseminates). Anyone else gets a 404, as if there were no report."""
    if is_fund_manager(user) or is_leader_of(user, grant):
        return True
    accepted = report is not None and report.accepted_at is not None
    return bool(accepted and (is_donor(user) or is_task_team_leader(user)))


def can_write_report(user, grant: Grant) -> tuple[bool, str]:
    """The completion report (results) is written and submitted by the grant's leader."""
    if is_leader_of(user, grant):
        return True, ""
    return False, _("Only the grant's task team leader writes its completion report.")


def can_accept_report(user, grant: Grant) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers accept completion reports.")


def can_return_report(user, grant: Grant) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers return completion reports for revision.")


def can_record_exchange(user, grant: Grant) -> tuple[bool, str]:
    if is_leader_of(user, grant) or is_fund_manager(user):
        return True, ""
    return False, _("Only the grant's task team leader and fund managers record its exchanges.")


def can_disburse(user, grant: Grant | None = None) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers see and record disbursements.")


def can_read_reminders(user) -> tuple[bool, str]:
    """Fund managers see every reminder; a task team leader the ones sent to them."""
    if is_fund_manager(user) or is_task_team_leader(user):
        return True, ""
    return False, _("Only fund managers and task team leaders see reminders.")
