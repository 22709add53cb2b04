"""Who must sign in with two factors, and what a session holds about it.

Settings (seetf/settings/base.py): ``SEETF_TWO_FACTOR_ROLES`` names the roles that must
(by name: ``fund_manager``, ``window_manager``); superusers always must (they may do
anything). Anyone else may enrol of their own accord, and then signs in with it too.
"""

from django.conf import settings

from partners.roles import user_roles

# Set at login (accounts.signals): whether the user had a confirmed device then, so that
# a page does not ask the database on every request of a user who has none.
SESSION_HAS_DEVICE = "seetf_has_otp_device"
# Wrong codes typed in this session (the second-factor page); past the limit, signed out.
SESSION_CODE_FAILURES = "seetf_otp_failures"


def two_factor_required(user) -> bool:
    """Whether the user's roles oblige them to use a second factor."""
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return bool(user_roles(user) & set(settings.SEETF_TWO_FACTOR_ROLES))


def needs_second_factor(request, user) -> bool:
    """Whether this signed-in session must still give a second factor: the user must use
    one, or has one, and has not given it in this session."""
    if not user or not user.is_authenticated:
        return False
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    session = getattr(request, "session", None)
    has_device = bool(session and session.get(SESSION_HAS_DEVICE))
    return has_device or two_factor_required(user)
