"""The API's authentication: tokens with a lifetime, and web sessions that count only
once their second factor is given.

API tokens are not asked for a second factor on each request: they are for scripts.
Obtaining one for a user who signs in with two factors takes a current code
(``POST /api/v1/auth/token/`` with ``otp``), and each token lives
``SEETF_TOKEN_LIFETIME_HOURS`` (then 401, and the script asks for a new one)."""

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .middleware import use_language
from .policy import needs_second_factor
from .services import token_expired


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication with a lifetime; the token's user comes with their
    saved language (same query), which the answer then follows (README "Languages")."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            try:
                language = result[0].preference.language
            except ObjectDoesNotExist:
                language = ""
            use_language(request._request, language)
        return result

    def authenticate_credentials(self, key):
        model = self.get_model()
        try:
            token = model.objects.select_related("user", "user__preference").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user = token.user
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
