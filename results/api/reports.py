from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from grants.api.serializers import FundSummarySerializer
from grants.filters import GrantFilter
from grants.models import CapacityOutcome
from grants.selectors import grants_visible_to, visibility_key
from partners.permissions import can_read_reference_data
from partners.roles import is_donor, is_fund_manager
from partners.selectors import partners_visible_to
from seetf.common.api import (
    REPORT_FORMAT_PARAMETER,
    REPORT_RENDERERS,
    RulePermission,
    ScopedAPIView,
)
from seetf.common.datacache import cached_response, query_key
from seetf.common.errors import ApplicationError
from seetf.common.money import MONEY

from .. import selectors


def _outcome_fields():
    return {name: serializers.BooleanField() for name in CapacityOutcome.values}


CapacityOutcomeRow = type(
    "CapacityOutcomeRowSerializer",
    (serializers.Serializer,),
    {
        "grant": serializers.IntegerField(),
        "reference": serializers.CharField(allow_null=True),
        "title": serializers.CharField(),
        **_outcome_fields(),
    },
)
CapacityOutcomeTotals = type(
    "CapacityOutcomeTotalsSerializer",
    (serializers.Serializer,),
    {
        "grants": serializers.IntegerField(),
        **{name: serializers.IntegerField() for name in CapacityOutcome.values},
    },
)


class CapacityOutcomesReportSerializer(serializers.Serializer):
    rows = CapacityOutcomeRow(many=True)
    totals = CapacityOutcomeTotals()


class FollowUpRowSerializer(serializers.Serializer):
    grant = serializers.IntegerField()
    reference = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    status = serializers.CharField()
    region = serializers.CharField()
    sector = serializers.CharField()
    approved_usd = serializers.DecimalField(**MONEY, allow_null=True)
    rating = serializers.CharField()
    follow_up_description = serializers.CharField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    needs = serializers.IntegerField(help_text="Its follow-up needs (results.FollowUpNeed).")
    open_needs = serializers.IntegerField()
    financed_needs = serializers.IntegerField(help_text="By a follow-on grant or elsewhere.")
    dropped_needs = serializers.IntegerField()
    estimated_usd = serializers.DecimalField(**MONEY, help_text="The needs' estimated cost.")
    leveraged_usd = serializers.DecimalField(
        **MONEY, help_text="What other sources finance of its needs (financed_elsewhere_usd)."
    )


class FollowUpTotalsSerializer(serializers.Serializer):
    grants = serializers.IntegerField()
    approved_usd = serializers.DecimalField(**MONEY)
    needs = serializers.IntegerField()
    open_needs = serializers.IntegerField()
    financed_needs = serializers.IntegerField()
    dropped_needs = serializers.IntegerField()
    estimated_usd = serializers.DecimalField(**MONEY)
    leveraged_usd = serializers.DecimalField(
        **MONEY, help_text="The money leveraged from other sources for the follow-up."
    )


class FollowUpReportSerializer(serializers.Serializer):
    rows = FollowUpRowSerializer(many=True)
    totals = FollowUpTotalsSerializer()


class ReportView(ScopedAPIView):
    """A report over grants, filterable like the grant list, as JSON, `?format=csv` or
    `?format=xlsx`."""

    scope = staticmethod(grants_visible_to)
    permission_classes = [RulePermission]
    read_rule = staticmethod(can_read_reference_data)
    renderer_classes = REPORT_RENDERERS
    # Declared for the schema: the filters are applied by filtered_grants().
    filter_backends = [DjangoFilterBackend]
    filterset_class = GrantFilter

    def filtered_grants(self, request):
        filterset = GrantFilter(request.query_params, queryset=self.get_queryset())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset.qs


class CapacityOutcomesReportView(ReportView):
    """Annex D: a row per completed or closed grant (whose report you may read), a
    boolean per intermediate capacity outcome, and totals counting each outcome."""

    report_name = "capacity-outcomes"
    report_serializer = CapacityOutcomesReportSerializer

    @extend_schema(
        responses={200: CapacityOutcomesReportSerializer},
        parameters=[REPORT_FORMAT_PARAMETER],
        filters=True,
    )
    def get(self, request):
        # The report's rows are already what the serializer (the schema) describes: ids,
        # strings and booleans read with .values(). Passing them through its fields one
        # by one cost more than the query at a portfolio's size, for the same JSON.
        # Cached rendered until the data changes (seetf.common.datacache): at 20,000
        # grants it is a document of megabytes that costs hundreds of ms to build.
        return cached_response(
            self,
            request,
            ("capacity-outcomes", visibility_key(request.user), query_key(request)),
            lambda: selectors.capacity_outcomes_report(
                user=request.user, grants=self.filtered_grants(request)
            ),
        )


class FollowUpReportView(ReportView):
    """The follow-up pipeline: completed and closed grants whose completion report says
    follow-up is needed, what is needed, what became of their follow-up needs, and the
    money leveraged from other sources (`leveraged_usd`)."""

    report_name = "follow-up"
    report_serializer = FollowUpReportSerializer

    @extend_schema(
        responses={200: FollowUpReportSerializer},
        parameters=[REPORT_FORMAT_PARAMETER],
        filters=True,
    )
    def get(self, request):
        def build():
            grants = self.filtered_grants(request)
            return FollowUpReportSerializer(
                selectors.follow_up_report(user=request.user, grants=grants)
            ).data

        return cached_response(
            self, request, ("follow-up", visibility_key(request.user), query_key(request)), build
        )


class DashboardContributionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    currency = serializers.CharField()
    pledged_amount = serializers.DecimalField(**MONEY)
    pledged_usd = serializers.DecimalField(**MONEY)
    received_usd = serializers.DecimalField(**MONEY)
    outstanding_usd = serializers.DecimalField(**MONEY)
    status = serializers.CharField()


class PortfolioRowSerializer(serializers.Serializer):
    grants = serializers.IntegerField()
    approved_usd = serializers.DecimalField(**MONEY)


class RegionRowSerializer(PortfolioRowSerializer):
    region = serializers.CharField()


class SectorRowSerializer(PortfolioRowSerializer):
    sector = serializers.CharField()
    name = serializers.CharField()


class StatusRowSerializer(PortfolioRowSerializer):
    status = serializers.CharField()


class PortfolioSerializer(serializers.Serializer):
    by_region = RegionRowSerializer(many=True)
    by_sector = SectorRowSerializer(many=True)
    by_status = StatusRowSerializer(many=True)


class DashboardWindowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    region = serializers.CharField(help_text="Empty: any region.")
    status = serializers.CharField()
    allocated_usd = serializers.DecimalField(**MONEY)
    committed_usd = serializers.DecimalField(**MONEY)
    disbursed_usd = serializers.DecimalField(**MONEY)
    available_usd = serializers.DecimalField(**MONEY)
    grants = serializers.IntegerField(help_text="Grants approved and later it finances.")


class DashboardPartnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class CofinancingSerializer(serializers.Serializer):
    partner_usd = serializers.DecimalField(
        **MONEY, help_text="What this partner co-finances outside the fund."
    )
    all_usd = serializers.DecimalField(**MONEY, help_text="What all co-financiers put in.")
    grants = serializers.IntegerField(help_text="Grants with co-financing.")


class DonorDashboardSerializer(serializers.Serializer):
    partner = DashboardPartnerSerializer()
    contributions = DashboardContributionSerializer(many=True)
    pledged_usd = serializers.DecimalField(**MONEY)
    received_usd = serializers.DecimalField(**MONEY)
    share_of_fund_received_percent = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        help_text="The partner's received money as a percentage of all money received.",
    )
    fund = FundSummarySerializer()
    portfolio = PortfolioSerializer(help_text="Grants approved and later, the whole fund's.")
    windows = DashboardWindowSerializer(
        many=True, help_text="What each funding window holds and how many grants it finances."
    )
    outcome_totals = CapacityOutcomeTotals()
    cofinancing = CofinancingSerializer(
        help_text="Co-financing of grants approved and later, outside the fund: reported, "
        "never in the ledger (partner roles `cofinancier`)."
    )


class DonorDashboardView(ScopedAPIView):
    """A partner's dashboard: its contributions and share of the fund, the portfolio the
    fund finances by region, sector and status, and the capacity outcomes achieved.
    A donor sees their own partner's; a fund manager names one with `?partner=ID`."""

    scope = staticmethod(partners_visible_to)
    permission_classes = [RulePermission]
    read_rule = staticmethod(can_read_reference_data)

    @extend_schema(
        responses={
            200: DonorDashboardSerializer,
            404: OpenApiResponse(description="No partner of that id (`?partner=`)."),
        },
        parameters=[OpenApiParameter("partner", int, description="Fund managers: a partner id.")],
    )
    def get(self, request):
        user = request.user
        requested = request.query_params.get("partner")
        if requested is not None and not requested.isdigit():
            raise ValidationError({"partner": [_("Give a partner id.")]})
        if is_fund_manager(user):
            if requested is None:
                raise ValidationError(
                    {"partner": [_("Fund managers name a partner: ?partner=ID.")]}
                )
            partner = get_object_or_404(self.get_queryset(), pk=int(requested))
        elif is_donor(user):
            # The donor's own partner, through their membership, in one query.
            partner = self.get_queryset().filter(members__user=user).first()
            if partner is None or (requested is not None and int(requested) != partner.pk):
                raise NotFound()
        else:
            raise ApplicationError(
                _("The donor dashboard is for donors and fund managers."),
                code="permission_denied",
                status=403,
            )
        return Response(
            DonorDashboardSerializer(selectors.donor_dashboard(partner=partner, user=user)).data
        )
