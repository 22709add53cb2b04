import django_filters
from rest_framework import serializers

from seetf.common.api import RulePermission, ScopedReadOnlyViewSet

from ..models import AlertKind, FundAlert
from ..permissions import can_read_alerts
from ..selectors import alerts_visible_to


class FundAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = FundAlert
        fields = [
            "id",
            "kind",
            "window",
            "raised_at",
            "resolved_at",
            "available_usd",
            "threshold_usd",
            "pipeline_usd",
            "notified_at",
            "detail",
        ]
        read_only_fields = fields


class FundAlertFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)
    open = django_filters.BooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", help_text="true: not yet resolved."
    )

    class Meta:
        model = FundAlert
        fields = ["kind", "open"]


class FundAlertViewSet(ScopedReadOnlyViewSet):
    """Funding-balance alerts (fund managers): raised when available money falls below
    the threshold (`low_balance`) or the pipeline exceeds it
    (`pipeline_exceeds_balance`), and when the ledger differs from the records
    (`ledger_drift`, by the daily `check_fund`; `detail` names each figure); resolved
    when the condition clears."""

    scope = staticmethod(alerts_visible_to)
    serializer_class = FundAlertSerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(can_read_alerts)
    filterset_class = FundAlertFilter
    ordering_fields = ["raised_at", "resolved_at"]
    ordering = ["-raised_at", "-id"]
