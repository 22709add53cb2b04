"""Who may read the login log and reset another user's second factor."""

from django.utils.translation import gettext as _

from partners.roles import is_fund_manager


def can_read_logins(user) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers read the login log.")


def can_reset_two_factor(user, target) -> tuple[bool, str]:
    if not is_fund_manager(user):
        return False, _("Only fund managers reset another user's second factor.")
    if target is not None and target.pk == user.pk:
        return False, _("Use one of your recovery codes, or ask another fund manager.")
    return True, ""


def can_unlock(user, target) -> tuple[bool, str]:
    if not is_fund_manager(user):
        return False, _("Only fund managers unlock another user's account.")
    if target is not None and target.pk == user.pk:
        return False, _("Ask another fund manager to unlock your account.")
    return True, ""


def can_hold_token(user) -> tuple[bool, str]:
    if user.is_authenticated:
        return True, ""
    return False, _("Sign in first.")
