"""Funding windows: `/api/v1/windows/` (API.md, Funding windows)."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from seetf.common.api import ErrorSerializer, RulePermission, ScopedViewSet
from seetf.common.filters import IdLastOrderingFilter, NamedFiltersBackend
from seetf.common.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from seetf.common.money import CENT, MONEY, usd
from seetf.common.pagination import Rows
from seetf.common.rows import Children, Computed, RowRepresentation

from .. import permissions as rules
from .. import selectors, services
from ..models import MAX_AMOUNT, REASON_MAX_LENGTH, Region, Sector, Window, WindowApprover


class WindowApproverSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        help_text="The approver's username; they hold the window_manager role.",
    )
    limit_usd = serializers.DecimalField(
        **MONEY,
        min_value=CENT,
        max_value=MAX_AMOUNT,
        help_text="The most they may approve of one grant of this window.",
    )

    class Meta:
        model = WindowApprover
        fields = ["user", "limit_usd"]


class WindowSerializer(serializers.ModelSerializer):
    """A funding window with its balances (read-only: they move by allocate, release,
    close and its grants' decisions) and its approvers."""

    region = serializers.ChoiceField(
        choices=Region.choices,
        allow_null=True,
        required=False,
        help_text="When set, the region its grants and their recipient countries are in.",
    )
    sectors = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Sector.objects.all(),
        required=False,
        help_text="DAC codes; when any are set, a grant's sector must be one of them.",
    )
    max_grant_usd = serializers.DecimalField(**MONEY, min_value=CENT, max_value=MAX_AMOUNT)
    available_usd = serializers.DecimalField(
        **MONEY, read_only=True, help_text="allocated - committed; never below zero."
    )
    approvers = WindowApproverSerializer(
        many=True, source="approver_limits", required=False, help_text="[{user, limit_usd}]"
    )

    class Meta:
        model = Window
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "region",
            "sectors",
            "max_grant_usd",
            "opens_on",
            "closes_on",
            "status",
            "allocated_usd",
            "committed_usd",
            "disbursed_usd",
            "available_usd",
            "approvers",
        ]
        read_only_fields = ["id", "status", "allocated_usd", "committed_usd", "disbursed_usd"]
        # The code's uniqueness is the service's check (a 400 on code).
        extra_kwargs = {"code": {"validators": []}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["region"] = data["region"] or None
        return data

    def validate(self, attrs):
        opens = attrs.get("opens_on", getattr(self.instance, "opens_on", None))
        closes = attrs.get("closes_on", getattr(self.instance, "closes_on", None))
        if opens and closes and closes < opens:
            raise serializers.ValidationError(
                {"closes_on": [_("A window cannot close before it opens.")]}
            )
        return attrs


# The windows as rows (seetf.common.rows): WindowSerializer's JSON from ``.values()``, its
# sectors and approvers read for the whole page in one statement. Every signed-in user
# reads the list: model instances with two prefetched managers walked by a
# ModelSerializer (and a nested one per approver) cost it more than its queries.
WINDOW_ROWS = RowRepresentation(
    WindowSerializer,
    declared={
        # to_representation: a window for no region has "" as its region, written null.
        "region": Computed(("region",), lambda row: row["region"] or None),
        "available_usd": Computed(
            ("allocated_usd", "committed_usd"),
            lambda row: usd(row["allocated_usd"] - row["committed_usd"]),
        ),
        # WindowApproverSerializer's, in the order of their prefetch (by username).
        "approvers": Children(
            "approver_limits",
            {
                "user": ("user.username", None),
                "limit_usd": ("limit_usd", lambda text: usd(Decimal(text))),
            },
            sort="user.username",
        ),
    },
)


class WindowMoneySerializer(serializers.Serializer):
    amount_usd = serializers.DecimalField(**MONEY, min_value=CENT, max_value=MAX_AMOUNT)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=REASON_MAX_LENGTH, default=""
    )


class WindowCloseSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=REASON_MAX_LENGTH, default=""
    )


BAD_INPUT = OpenApiResponse(description='Bad input, and nothing written: `{"field": ["message"]}`.')
REFUSALS = {
    403: OpenApiResponse(ErrorSerializer, description="Only fund managers move windows' money."),
    404: OpenApiResponse(description="No such window."),
    409: OpenApiResponse(ErrorSerializer, description="A business rule refused it."),
}


def _inputs(validated: dict) -> dict:
    data = dict(validated)
    if "approver_limits" in data:
        data["approvers"] = data.pop("approver_limits")
    if "region" in data:
        data["region"] = data["region"] or ""
    return data


@extend_schema_view(
    create=extend_schema(responses={201: WindowSerializer, 400: BAD_INPUT, 403: REFUSALS[403]}),
    update=extend_schema(responses={200: WindowSerializer, 400: BAD_INPUT, **REFUSALS}),
    partial_update=extend_schema(responses={200: WindowSerializer, 400: BAD_INPUT, **REFUSALS}),
)
class WindowViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """Funding windows: money of the fund set aside for a region, a theme or small
    grants, with its rules and its approvers. Fund managers create and edit them and
    move their money; every signed-in user reads them with their balances."""

    scope = staticmethod(selectors.windows_visible_to)
    serializer_class = WindowSerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(rules.can_read_windows)
    write_rule = staticmethod(rules.can_manage_windows)
    filterset_class = None
    filter_backends = [NamedFiltersBackend, IdLastOrderingFilter]
    ordering_fields = ["code", "name", "opens_on", "closes_on"]
    ordering = ["code"]
    lookup_value_regex = r"\d+"

    def refine(self, windows):
        return selectors.windows_with_details(windows)

    def list(self, request, *args, **kwargs):
        # Rows, not model instances (``WINDOW_ROWS``): the page with the count, then its
        # relations.
        windows = self.filter_queryset(self.scoped())
        rows = Rows(windows, WINDOW_ROWS.read, counted_in_page=True)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(WINDOW_ROWS.represent(page))

    def _answer(self, window, code=status.HTTP_200_OK):
        fresh = selectors.windows_with_details(Window.objects.filter(pk=window.pk)).get()
        return Response(WindowSerializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        window = services.window_create(user=request.user, **_inputs(serializer.validated_data))
        return self._answer(window, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        window = self.get_object()
        serializer = self.get_serializer(window, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        window = services.window_update(
            window=window, user=request.user, **_inputs(serializer.validated_data)
        )
        return self._answer(window)

    def _money(self, request, pk, move, input_serializer):
        window = self.get_object()

        def apply():
            services.window_money_check(user=request.user)
            serializer = input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            move(window=window, user=request.user, **serializer.validated_data)
            return self._answer(window)

        return idempotent(request, apply)

    @extend_schema(
        summary="Allocate money to a window",
        description="Moves `amount_usd` from the fund's available money into the window "
        "(409 `insufficient_funds` beyond it; 409 `invalid_transition` for a closed "
        "window). Honours `Idempotency-Key`.",
        request=WindowMoneySerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: WindowSerializer, 400: BAD_INPUT, **REFUSALS},
    )
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None):
        return self._money(request, pk, services.window_allocate, WindowMoneySerializer)

    @extend_schema(
        summary="Release a window's unused money",
        description="Gives `amount_usd` of the window's available money back to the fund "
        "(409 `over_release` beyond it). Honours `Idempotency-Key`.",
        request=WindowMoneySerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: WindowSerializer, 400: BAD_INPUT, **REFUSALS},
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._money(request, pk, services.window_release, WindowMoneySerializer)

    @extend_schema(
        summary="Close a window",
        description="Returns all the window's available money to the fund and closes it: "
        "it takes no more proposals or approvals (409 `invalid_transition` when closed "
        "already). Honours `Idempotency-Key`.",
        request=WindowCloseSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: WindowSerializer, 400: BAD_INPUT, **REFUSALS},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._money(request, pk, services.window_close, WindowCloseSerializer)
