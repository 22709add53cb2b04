"""Who may do what with partners and money in: rules as named functions.

Each returns ``(allowed, reason)``; the API turns a refusal into 403.
"""

from django.utils.translation import gettext as _

from .roles import is_fund_manager, user_roles


def can_read_reference_data(user) -> tuple[bool, str]:
    if user.is_superuser or user_roles(user):
        return True, ""
    return False, _("Only fund managers, task team leaders and donors may read fund data.")


def can_write_partners(user) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers may record partners.")


def can_record_money_in(user) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers may record contributions and receipts.")


def can_read_alerts(user) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers see funding alerts.")


def can_manage_windows(user) -> tuple[bool, str]:
    """Funding windows: fund managers create and edit them, name their approvers, and
    move money into and out of them."""
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers manage funding windows.")


def can_read_windows(user) -> tuple[bool, str]:
    """Every signed-in user with a role reads the windows and their balances."""
    if user.is_superuser or user_roles(user):
        return True, ""
    return False, _("Only signed-in users of the fund read its funding windows.")


def can_read_audit_log(user) -> tuple[bool, str]:
    """The audit log (who changed what): fund managers and superusers."""
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers read the audit log.")
