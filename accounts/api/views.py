"""The API of signing in: tokens (obtain, revoke, list one's own) and the login log."""

from axes.helpers import get_cool_off
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import APIException, Throttled, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.context import client_address
from partners import services as partner_services
from partners.api.serializers import TokenResponseSerializer
from seetf.common.api import ErrorSerializer, RulePermission, ScopedViewSet
from seetf.common.parsers import StrictJSONParser

from .. import permissions as rules
from .. import selectors, services
from ..filters import LoginRecordFilter
from ..models import LoginMethod, LoginOutcome
from ..policy import two_factor_required
from .serializers import LoginRecordSerializer, TokenRequestSerializer, TokenSerializer


class ObtainTokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (`Authorization: Token ...`).

    A user who signs in with two factors (their role requires it, or they set one up)
    also sends `otp`: the current code of their authenticator app, or a recovery code;
    without it, or with a wrong one, 400 on `otp` (no device set up yet: set it up on the
    web first). The token is the user's one token while it is within its lifetime
    (`SEETF_TOKEN_LIFETIME_HOURS`), else a new one. Every attempt is in the login log.

    Failed attempts are counted per username and address, and per address across
    usernames; past either limit the answer is 429 until the cool-off ends."""

    renderer_classes = [JSONRenderer]
    # DRF's ObtainAuthToken names its own parsers, DRF's plain JSONParser among them (a
    # body nested 1,000 deep was a 500 here): the project's JSON parser instead, in the
    # same order.
    parser_classes = [FormParser, MultiPartParser, StrictJSONParser]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(
                description="Missing or wrong credentials, or a missing or wrong `otp`."
            ),
            429: OpenApiResponse(
                ErrorSerializer,
                description="Too many failed logins for this username from this address, "
                "or from this address, or too many wrong codes: try again later.",
            ),
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError:
            # django-axes (and the per-address limit) mark a locked-out attempt on the
            # request it was given, here DRF's Request, which its middleware (reading
            # Django's request) never sees: so the lockout is turned into a 429 here.
            if getattr(request, "axes_locked_out", False):
                raise Throttled(
                    wait=_lockout_seconds(request),
                    detail=_("Too many failed logins; try again later."),
                ) from None
            raise
        user = serializer.validated_data["user"]
        if two_factor_required(user) or services.two_factor_enrolled(user):
            self._second_factor(request, user, serializer.validated_data.get("otp") or "")
        token = services.token_issue(user=user)
        # What django.contrib.auth.login() sends: last_login, the login log, axes' reset.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response({"token": token.key})

    def _second_factor(self, request, user, code: str) -> None:
        def refuse(message, wait=0):
            services.login_record(
                username=user.get_username(),
                user=user,
                address=client_address(request),
                method=LoginMethod.TOKEN,
                outcome=LoginOutcome.OTP_FAILED,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            if wait:
                raise Throttled(wait=wait, detail=message)
            raise ValidationError({"otp": [message]})

        if not services.two_factor_enrolled(user):
            refuse(
                _(
                    "This user signs in with two factors and has none set up: sign in on "
                    "the web first (/login/) to set one up, then send its code as otp."
                )
            )
        if not code.strip():
            refuse(
                _(
                    "This user signs in with two factors: send the current code of the "
                    "authenticator app (or a recovery code) as otp."
                )
            )
        try:
            services.two_factor_verify(user=user, code=code)
        except services.CodeRefused as refused:
            if refused.wait:
                refuse(_("Too many wrong codes; try again later."), wait=refused.wait)
            refuse(_("That code is not right: send the current one."))


def _lockout_seconds(request) -> int | None:
    cool_off = get_cool_off(request._request)
    return int(cool_off.total_seconds()) if cool_off else None


class NoTokenToRevoke(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = gettext_lazy(
        "This request carries no API token to revoke: send it as `Authorization: Token <key>`."
    )
    default_code = "no_token"


class RevokeTokenView(APIView):
    """End the API token this request is sent with: 204, and that token then gets 401.

    Signed in some other way (a web session), there is no token to revoke: 400
    `no_token`, nothing changed. Without credentials: 401."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # As every scoped view does: a malformed body is a 400 before anything is done.
        request.data  # noqa: B018

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked: this token now gets 401."),
            400: OpenApiResponse(
                ErrorSerializer,
                description="`no_token`: the request carries no token (a web session).",
            ),
            401: OpenApiResponse(
                ErrorSerializer, description="No credentials, or a token already revoked."
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        if not isinstance(request.auth, Token):
            raise NoTokenToRevoke()
        partner_services.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenViewSet(mixins.ListModelMixin, ScopedViewSet):
    """The caller's own API tokens: the key's first 8 characters (never the whole key),
    when it was made and when it expires. One token per user (DRF's), so at most one."""

    scope = staticmethod(selectors.tokens_visible_to)
    serializer_class = TokenSerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(rules.can_hold_token)

    @extend_schema(
        responses={
            200: TokenSerializer(many=True),
            401: OpenApiResponse(ErrorSerializer, description="No credentials."),
        }
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class LoginRecordViewSet(mixins.ListModelMixin, ScopedViewSet):
    """The login log (fund managers): every login and failure, on the web (password and
    second factor) and for API tokens, newest first. Append-only; an axes reset does not
    remove anything from it. Filters: `username` (exact, any case), `outcome`, `method`,
    `since` (an ISO 8601 time: at or after it)."""

    scope = staticmethod(selectors.logins_visible_to)
    serializer_class = LoginRecordSerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(rules.can_read_logins)
    filterset_class = LoginRecordFilter
    ordering_fields = ["at"]
    ordering = ["-at", "-id"]

    @extend_schema(
        responses={
            200: LoginRecordSerializer(many=True),
            400: OpenApiResponse(description="A filter's value is not valid."),
            401: OpenApiResponse(ErrorSerializer, description="No credentials."),
            403: OpenApiResponse(ErrorSerializer, description="Not a fund manager."),
        }
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
