"""The three analytics reports (API.md, Process and portfolio analytics): cycle times,
portfolio indicators and exchange flows. Reports like every other one: ``{"rows",
"totals"}``, the grant list's filters, ``?format=csv`` and ``?format=xlsx``, read by the
signed-in roles over the grants each may see (``grants_visible_to``), and cached rendered
until the data changes (``seetf.common.datacache``)."""

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from grants.filters import status_scope
from grants.selectors import visibility_key
from results.api.reports import ReportView
from seetf.common.api import REPORT_FORMAT_PARAMETER
from seetf.common.datacache import cached_response, query_key

from . import cycletimes, portfolio

DAYS = {"max_digits": 9, "decimal_places": 1, "coerce_to_string": False, "allow_null": True}

_ERRORS = {
    400: OpenApiResponse(description="A filter or parameter is not valid: `{field: [message]}`."),
    401: OpenApiResponse(description="No credentials."),
    403: OpenApiResponse(description="A signed-in user with no role in the fund."),
}


def _statistics_fields() -> dict:
    fields = {"grants": serializers.IntegerField(help_text="Grants submitted at least once.")}
    for column in cycletimes.step_columns():
        if column.endswith("_count"):
            fields[column] = serializers.IntegerField(help_text="Grants that finished the step.")
        elif column == "returns":
            fields[column] = serializers.DecimalField(
                max_digits=9,
                decimal_places=2,
                coerce_to_string=False,
                allow_null=True,
                help_text="Mean returns to the leader per grant.",
            )
        elif column.endswith("_within_standard_percent"):
            fields[column] = serializers.DecimalField(
                **DAYS,
                help_text="Percent of the step's grants within its service standard "
                "(SEETF_SERVICE_STANDARDS); null without a standard.",
            )
        else:
            fields[column] = serializers.DecimalField(
                **DAYS, help_text="Calendar days in the fund's time zone (TIME_ZONE)."
            )
    return fields


CycleTimesTotals = type(
    "CycleTimesTotalsSerializer", (serializers.Serializer,), _statistics_fields()
)
CycleTimesRow = type(
    "CycleTimesRowSerializer",
    (serializers.Serializer,),
    {
        "group": serializers.CharField(
            help_text="The group's code: a region, a sector code, an instrument, a size band "
            "(`low-high` USD), a quarter of first submission (`2026-Q1`)."
        ),
        "label": serializers.CharField(),
        **_statistics_fields(),
    },
)
Standards = type(
    "ServiceStandardsSerializer",
    (serializers.Serializer,),
    {step: serializers.IntegerField(required=False) for step in cycletimes.STEPS},
)


class CycleTimesReportSerializer(serializers.Serializer):
    rows = CycleTimesRow(many=True)
    totals = CycleTimesTotals()
    standards = Standards(help_text="The service standards in days (SEETF_SERVICE_STANDARDS).")


class IndicatorRowSerializer(serializers.Serializer):
    indicator = serializers.ChoiceField(choices=list(portfolio.INDICATORS))
    label = serializers.CharField()
    value = serializers.CharField(
        allow_null=True,
        help_text="A decimal number as a string: a count (`21`), a percent (`90.5`) or USD "
        "(`100000.00`), as `unit` says; null when there is nothing to divide by.",
    )
    unit = serializers.ChoiceField(choices=["count", "percent", "usd"])
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)


class IndicatorTotalsSerializer(serializers.Serializer):
    indicators = serializers.IntegerField()


class IndicatorCountriesSerializer(serializers.Serializer):
    recipients = serializers.ListField(child=serializers.CharField())
    providers = serializers.ListField(child=serializers.CharField())
    both = serializers.ListField(child=serializers.CharField())


class PortfolioIndicatorsReportSerializer(serializers.Serializer):
    rows = IndicatorRowSerializer(many=True)
    totals = IndicatorTotalsSerializer()
    countries = IndicatorCountriesSerializer(help_text="The countries counted, by role (alpha-3).")


class FlowTotalsSerializer(serializers.Serializer):
    exchanges = serializers.IntegerField()
    grants = serializers.IntegerField()
    participants = serializers.IntegerField()
    women_participants = serializers.IntegerField()


class FlowRowSerializer(FlowTotalsSerializer):
    provider = serializers.CharField(help_text="An alpha-3 country code, or a region code.")
    provider_name = serializers.CharField()
    recipient = serializers.CharField()
    recipient_name = serializers.CharField()

    def get_fields(self):
        fields = super().get_fields()
        order = ["provider", "provider_name", "recipient", "recipient_name"]
        return {name: fields[name] for name in order + [n for n in fields if n not in order]}


class ExchangeFlowsReportSerializer(serializers.Serializer):
    rows = FlowRowSerializer(many=True)
    totals = FlowTotalsSerializer()


def _choice(request, name, choices, default):
    value = request.query_params.get(name, default)
    if value not in choices:
        raise ValidationError(
            {name: [_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)}]}
        )
    return value


def _date(request, name):
    from django.utils.dateparse import parse_date

    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    if day is None:
        raise ValidationError({name: [_("Give a date: YYYY-MM-DD.")]})
    return day


class CycleTimesReportView(ReportView):
    """How long each step of a grant takes, per group: median, 80th percentile and count
    of each step, the share within its service standard, the mean returns and the days
    waited on the leader and on the fund; computed from the grants' history,
    disbursements, exchanges and completion reports."""

    report_name = "cycle-times"
    report_serializer = CycleTimesReportSerializer

    @extend_schema(
        responses={200: CycleTimesReportSerializer, **_ERRORS},
        parameters=[
            OpenApiParameter(
                "group_by",
                str,
                enum=list(cycletimes.GROUP_BY_CHOICES),
                description="How to group the grants (default `quarter`, of first "
                "submission); `window`: the funding window (grants outside one: No window).",
            ),
            REPORT_FORMAT_PARAMETER,
        ],
        filters=True,
    )
    def get(self, request):
        group_by = _choice(request, "group_by", cycletimes.GROUP_BY_CHOICES, "quarter")

        def build():
            grants = self.filtered_grants(request)
            return CycleTimesReportSerializer(
                cycletimes.cycle_times_report(grants, group_by=group_by)
            ).data

        return cached_response(
            self, request, ("cycle-times", visibility_key(request.user), query_key(request)), build
        )


class PortfolioIndicatorsReportView(ReportView):
    """The 2011 review's headline figures computed from the data: grants approved,
    countries involved by role, exchanges held, the share of completed projects with a
    study tour, the average grant, the share of women among participants, and the
    completed projects reporting concrete results. Over the grants approved and later
    that you may see, approved within `approved_from`..`approved_to` when given."""

    report_name = "portfolio-indicators"
    report_serializer = PortfolioIndicatorsReportSerializer

    @extend_schema(
        responses={200: PortfolioIndicatorsReportSerializer, **_ERRORS},
        parameters=[
            OpenApiParameter(
                "approved_from", str, description="YYYY-MM-DD: grants approved on or after."
            ),
            OpenApiParameter("approved_to", str, description="YYYY-MM-DD: approved on or before."),
            REPORT_FORMAT_PARAMETER,
        ],
        filters=True,
    )
    def get(self, request):
        start, end = _date(request, "approved_from"), _date(request, "approved_to")
        if start and end and start > end:
            raise ValidationError({"approved_to": [_("The period ends before it starts.")]})

        def build():
            grants = portfolio.approved_in_period(self.filtered_grants(request), start, end)
            statuses = portfolio.approved_statuses(
                status_scope(request.user, request.query_params), start, end
            )
            report = portfolio.portfolio_indicators(grants, statuses)
            for row in report["rows"]:
                row["value"] = None if row["value"] is None else str(row["value"])
            return PortfolioIndicatorsReportSerializer(report).data

        return cached_response(
            self,
            request,
            ("portfolio-indicators", visibility_key(request.user), query_key(request)),
            build,
        )


class ExchangeFlowsReportView(ReportView):
    """Who learned from whom: the exchanges held from each provider to each recipient,
    by country (alpha-3) or by region, with the grants, participants and women."""

    report_name = "exchange-flows"
    report_serializer = ExchangeFlowsReportSerializer

    @extend_schema(
        responses={200: ExchangeFlowsReportSerializer, **_ERRORS},
        parameters=[
            OpenApiParameter(
                "by", str, enum=list(portfolio.FLOW_BY), description="Default `country`."
            ),
            REPORT_FORMAT_PARAMETER,
        ],
        filters=True,
    )
    def get(self, request):
        by = _choice(request, "by", portfolio.FLOW_BY, "country")

        def build():
            grants = self.filtered_grants(request)
            statuses = status_scope(request.user, request.query_params)
            # The report's rows are already what the serializer (the schema) describes,
            # strings and integers in its order: at 200,000 grants 13,000 country pairs,
            # which passing through its fields one by one cost more than summing them.
            return portfolio.exchange_flows(grants, by=by, statuses=statuses)

        return cached_response(
            self,
            request,
            ("exchange-flows", visibility_key(request.user), query_key(request)),
            build,
        )


urlpatterns = [
    path("reports/cycle-times/", CycleTimesReportView.as_view(), name="report-cycle-times"),
    path(
        "reports/portfolio-indicators/",
        PortfolioIndicatorsReportView.as_view(),
        name="report-portfolio-indicators",
    ),
    path(
        "reports/exchange-flows/",
        ExchangeFlowsReportView.as_view(),
        name="report-exchange-flows",
    ),
]
