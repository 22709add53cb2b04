"""The API's authentication: tokens with a lifetime, and web sessions that count only
once their second factor is given.

API tokens are not asked for a second factor on each request: they are for scripts.
Obtaining one for a user who signs in with two factors takes a current code
(``POST /api/v1/auth/token/`` with ``otp``), and each token lives
``SEETF_TOKEN_LIFETIME_HOURS`` (then 401, and the script asks for a new one)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .policy import needs_second_factor
from .services import token_expired


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise exceptions.AuthenticationFailed(
                _("Token expired: ask POST /api/v1/auth/token/ for a new one.")
            )
        return user, token


class TwoFactorSessionAuthentication(authentication.SessionAuthentication):
    """A web session whose second factor is still to be given is not signed in for the
    API either (401 ``two_factor_required``)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and needs_second_factor(request._request, result[0]):
            raise exceptions.AuthenticationFailed(
                _("Finish signing in with your second factor first (/login/two-factor/)."),
                code="two_factor_required",
            )
        return result
