"""The schema's name for the session authentication that waits for the second factor:
the same ``cookieAuth`` scheme as DRF's SessionAuthentication."""

from drf_spectacular.authentication import SessionScheme


class TwoFactorSessionScheme(SessionScheme):
    target_class = "accounts.authentication.TwoFactorSessionAuthentication"
