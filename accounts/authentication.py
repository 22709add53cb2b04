"""The API's authentication: tokens with a lifetime, and web sessions that count only
once their second factor is given.

API tokens are not asked for a second factor on each request: they are for scripts.
Obtaining one for a user who signs in with two factors takes a current code
(``POST /api/v1/auth/token/`` with ``otp``), and each token lives
``SEETF_TOKEN_LIFETIME_HOURS`` (then 401, and the script asks for a new one)."""

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import OuterRef
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from partners.roles import remember_roles, role_names_subquery
from seetf.common.prepared import Prepared

from .middleware import use_language
from .policy import needs_second_factor
from .services import token_expired


def _tokens(key):
    """The token of ``key`` with its user, their preference and, on PostgreSQL, their
    roles (one query)."""
    tokens = Token.objects.select_related("user", "user__preference")
    if connection.vendor == "postgresql":
        tokens = tokens.annotate(seetf_role_names=role_names_subquery(OuterRef("user_id")))
    return tokens.filter(key=key)[:2]


# Compiled once (seetf.common.prepared): the ORM's building and compiling of this
# statement cost every API request more than running it.
TOKENS = Prepared(_tokens, "key")


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication with a lifetime; the token's user comes with their
    saved language (same query), which the answer then follows (README "Languages"),
    and on PostgreSQL with their roles (same query: ``partners.roles.user_roles`` then
    reads none)."""

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
        tokens = TOKENS.rows(key=key)
        if len(tokens) != 1:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = tokens[0]
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user = token.user
        names = getattr(token, "seetf_role_names", None)
        if names is not None:
            remember_roles(user, names)
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
