"""The API of what happens after the exchange (API.md, After the exchange): follow-up
needs (``/follow-up-needs/``), a grant's ex-post checks (``/grants/{id}/ex-post-checks/``)
and the sustained-results report. Reads through the selectors' scopes, writes through
``results.services``."""

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from grants.api.serializers import GrantSerializer, ProposeFollowOnSerializer, represent_grant
from grants.api.views import REFUSALS, GrantChildViewSet
from grants.permissions import can_create_grant
from grants.selectors import visibility_key
from seetf.common.api import REPORT_FORMAT_PARAMETER, RulePermission, ScopedViewSet
from seetf.common.datacache import cached_response, query_key
from seetf.common.money import MONEY
from seetf.common.rules import require

from .. import selectors, services
from ..models import (
    EX_POST_RESULTS,
    MAX_NEED_USD,
    ExPostCheck,
    FollowUpKind,
    FollowUpNeed,
    FollowUpStatus,
)
from ..permissions import can_decide_needs
from .reports import ReportView

NEED_REFUSALS = {
    **REFUSALS,
    409: OpenApiResponse(
        description="`invalid_transition`: the need is financed or dropped already (a need "
        "is financed once), or the grant's report is not in yet; `duplicate`: a follow-on "
        "is already proposed for it."
    ),
}


def _money(**kwargs):
    return serializers.DecimalField(**MONEY, min_value=0, max_value=MAX_NEED_USD, **kwargs)


class FollowUpNeedSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=FollowUpKind.choices)
    description = serializers.CharField(max_length=2000)
    estimated_usd = _money(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=FollowUpStatus.choices, read_only=True)
    financed_elsewhere_usd = serializers.DecimalField(**MONEY, read_only=True, allow_null=True)

    class Meta:
        model = FollowUpNeed
        fields = ["id", "grant", *services.NEED_AUDIT_FIELDS, "decided_at"]
        read_only_fields = [
            "id",
            "grant",
            "status",
            "financed_by_grant",
            "financed_elsewhere_by",
            "financed_elsewhere_usd",
            "dropped_reason",
            "proposed_grant",
            "decided_at",
        ]
        extra_kwargs = {
            "financed_by_grant": {"help_text": "The seetf follow-on grant that finances it."},
            "proposed_grant": {
                "help_text": "The follow-on proposed from this need; approving it finances "
                "the need."
            },
        }


class FinanceElsewhereSerializer(serializers.Serializer):
    financed_elsewhere_by = serializers.CharField(
        max_length=200, help_text="Who finances it (a government, a bank, a donor...)."
    )
    financed_elsewhere_usd = _money(help_text="How much, in USD (zero or more).")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class DropSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why nobody will finance it.")


class FollowUpNeedFilter(django_filters.FilterSet):
    grant = django_filters.NumberFilter(field_name="grant_id")
    kind = django_filters.ChoiceFilter(choices=FollowUpKind.choices)
    status = django_filters.ChoiceFilter(choices=FollowUpStatus.choices)
    financed_by_grant = django_filters.NumberFilter(field_name="financed_by_grant_id")
    financed_elsewhere = django_filters.BooleanFilter(
        method="filter_elsewhere", label=_("Financed by another source (true) or not (false).")
    )

    class Meta:
        model = FollowUpNeed
        fields = ["grant", "kind", "status", "financed_by_grant", "financed_elsewhere"]

    def filter_elsewhere(self, queryset, name, value):
        return (
            queryset.exclude(financed_elsewhere_by="")
            if value
            else queryset.filter(financed_elsewhere_by="")
        )


@extend_schema_view(
    partial_update=extend_schema(responses={200: FollowUpNeedSerializer, **NEED_REFUSALS}),
    update=extend_schema(responses={200: FollowUpNeedSerializer, **NEED_REFUSALS}),
)
class FollowUpNeedViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ScopedViewSet
):
    """Follow-up needs, written with the completion report (its `follow_up_needs`). Fund
    managers read all, correct an open need (PUT/PATCH) and record what became of it:
    `finance-elsewhere/`, `drop/`; a follow-on grant approved from `propose-follow-on/`
    finances it. Leaders read their own grants' needs, donors and other leaders those of
    accepted reports. A need is financed once: recording another outcome of a need
    financed or dropped is a 409 `invalid_transition`."""

    scope = staticmethod(selectors.follow_up_needs_visible_to)
    serializer_class = FollowUpNeedSerializer
    permission_classes = [RulePermission]
    write_rule = staticmethod(lambda user: (True, ""))
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = FollowUpNeedFilter
    ordering_fields = ["id", "estimated_usd", "financed_elsewhere_usd"]
    ordering = ["id"]
    lookup_value_regex = r"\d+"

    def refine(self, needs):
        return needs.select_related("grant")

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        need = self.get_object()
        require(can_decide_needs(request.user))
        serializer = self.get_serializer(need, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        need = services.need_update(need=need, user=request.user, **serializer.validated_data)
        return Response(FollowUpNeedSerializer(need).data)

    @extend_schema(
        request=FinanceElsewhereSerializer, responses={200: FollowUpNeedSerializer, **NEED_REFUSALS}
    )
    @action(detail=True, methods=["post"], url_path="finance-elsewhere")
    def finance_elsewhere(self, request, pk=None):
        """Another source finances the need (by whom, how much: money leveraged)."""
        return self._decide(request, FinanceElsewhereSerializer, services.need_finance_elsewhere)

    @extend_schema(request=DropSerializer, responses={200: FollowUpNeedSerializer, **NEED_REFUSALS})
    @action(detail=True, methods=["post"])
    def drop(self, request, pk=None):
        """Nobody will finance the need: dropped, with the reason."""
        return self._decide(request, DropSerializer, services.need_drop)

    def _decide(self, request, serializer_class, service):
        """A fund manager's decision on a need: the role and the need's state first (403,
        409), then the body (400), then the service."""
        need = self.get_object()
        services.need_decide_check(need=need, user=request.user)
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        need = service(need=need, user=request.user, **serializer.validated_data)
        return Response(FollowUpNeedSerializer(need).data)

    @extend_schema(
        request=ProposeFollowOnSerializer,
        responses={201: GrantSerializer, **NEED_REFUSALS},
    )
    @action(detail=True, methods=["post"], url_path="propose-follow-on")
    def propose_follow_on(self, request, pk=None):
        """A draft follow-on grant for the requesting task team leader (403 for other
        roles), filled from the need's grant and linked to it; approving it finances the
        need. 409 `invalid_transition` for a need financed or dropped, `duplicate` while
        another proposal for it is under way."""
        need = self.get_object()
        require(can_create_grant(request.user))
        serializer = ProposeFollowOnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = services.need_propose_follow_on(
            need=need, user=request.user, **serializer.validated_data
        )
        return Response(represent_grant(draft), status=status.HTTP_201_CREATED)


# --- Ex-post checks ------------------------------------------------------------------------


class ExPostCheckSerializer(serializers.ModelSerializer):
    evidence = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)

    class Meta:
        model = ExPostCheck
        fields = [
            "id",
            "months_after_close",
            "due_on",
            "submitted_at",
            *EX_POST_RESULTS,
            "evidence",
            "notes",
        ]
        read_only_fields = ["id", "months_after_close", "due_on", "submitted_at"]


EX_POST_REFUSALS = {
    **REFUSALS,
    409: OpenApiResponse(
        description="`invalid_transition`: filed already, or before its due date (a check "
        "is filed from `due_on`, not before)."
    ),
}


@extend_schema_view(
    update=extend_schema(
        summary="File an ex-post check",
        responses={200: ExPostCheckSerializer, **EX_POST_REFUSALS},
    ),
    partial_update=extend_schema(
        summary="File an ex-post check (the answers not sent are false or empty)",
        responses={200: ExPostCheckSerializer, **EX_POST_REFUSALS},
    ),
)
class ExPostCheckViewSet(
    GrantChildViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin
):
    """A closed grant's ex-post checks, 6 and 12 months after closing (both created when
    it is closed). Anyone who sees the grant reads them; its task team leader files each
    once with PUT or PATCH, from its `due_on` and not before (409 `invalid_transition`);
    filing sets `submitted_at`. Reminders of kind `ex_post` chase a check not filed."""

    scope = staticmethod(selectors.ex_post_checks_visible_to)
    serializer_class = ExPostCheckSerializer
    ordering = ["months_after_close"]

    def refine(self, checks):
        return checks.filter(grant=self.grant).order_by("months_after_close")

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        check = self.get_object()
        services.ex_post_check_file_check(check=check, user=request.user)
        serializer = self.get_serializer(check, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        check = services.ex_post_check_file(
            check=check, user=request.user, **serializer.validated_data
        )
        return Response(ExPostCheckSerializer(check).data)


# --- The sustained-results report ------------------------------------------------------


SustainedRowSerializer = type(
    "SustainedRowSerializer",
    (serializers.Serializer,),
    {
        "grant": serializers.IntegerField(),
        "reference": serializers.CharField(allow_null=True),
        "title": serializers.CharField(),
        "closed_on": serializers.DateField(),
        "checks_filed": serializers.IntegerField(help_text="Of its two checks, how many filed."),
        # Whether a filed check of the grant shows it.
        **{name: serializers.BooleanField() for name in EX_POST_RESULTS},
    },
)
SustainedTotalsSerializer = type(
    "SustainedTotalsSerializer",
    (serializers.Serializer,),
    {
        "grants": serializers.IntegerField(help_text="Grants closed a year ago or more."),
        "grants_checked": serializers.IntegerField(help_text="Of them, with a check filed."),
        # How many of them show it.
        **{name: serializers.IntegerField() for name in EX_POST_RESULTS},
    },
)


class SustainedResultsReportSerializer(serializers.Serializer):
    rows = SustainedRowSerializer(many=True)
    totals = SustainedTotalsSerializer()


class SustainedResultsReportView(ReportView):
    """Sustained results: of the grants closed a year ago or more (their 12-month check
    due), a row each saying whether any filed ex-post check shows each result; totals
    count the grants showing each."""

    report_name = "sustained-results"
    report_serializer = SustainedResultsReportSerializer

    @extend_schema(
        responses={200: SustainedResultsReportSerializer},
        parameters=[REPORT_FORMAT_PARAMETER],
        filters=True,
    )
    def get(self, request):
        today = timezone.localdate()
        return cached_response(
            self,
            request,
            (
                "sustained-results",
                visibility_key(request.user),
                today.isoformat(),
                query_key(request),
            ),
            lambda: (
                SustainedResultsReportSerializer(
                    selectors.sustained_results_report(
                        user=request.user, grants=self.filtered_grants(request), today=today
                    )
                ).data
            ),
        )
