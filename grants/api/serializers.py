from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from partners.models import Country, Partner, Region, Sector

from ..models import (
    MAX_GRANT_USD,
    CapacityOutcome,
    Disbursement,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
    GrantStatus,
    Instrument,
)

MONEY = {"max_digits": 16, "decimal_places": 2}
PARTNER_MAX = Decimal("1000000000.00")


class FundSummarySerializer(serializers.Serializer):
    pledged_usd = serializers.DecimalField(**MONEY)
    received_usd = serializers.DecimalField(**MONEY)
    committed_usd = serializers.DecimalField(
        **MONEY, help_text="Approved amounts of grants not cancelled, less what was released."
    )
    disbursed_usd = serializers.DecimalField(**MONEY)
    available_usd = serializers.DecimalField(
        **MONEY, help_text="received - committed; never below zero."
    )
    pipeline_usd = serializers.DecimalField(
        **MONEY, help_text="Requested amounts of grants submitted or under review."
    )
    low_balance_threshold_usd = serializers.DecimalField(**MONEY)
    as_of = serializers.DateTimeField()


def _countries(**kwargs):
    return serializers.SlugRelatedField(
        many=True,
        slug_field="code",
        queryset=Country.objects.all(),
        help_text="ISO 3166-1 alpha-3 codes.",
        **kwargs,
    )


class GrantSerializer(serializers.ModelSerializer):
    """A grant. Server-owned fields (reference, status, money decided by fund managers,
    the leader, dates of decisions) are read-only: sending them changes nothing."""

    sector = serializers.PrimaryKeyRelatedField(
        queryset=Sector.objects.all(), help_text="OECD DAC 5-digit purpose code."
    )
    region = serializers.ChoiceField(choices=Region.choices)
    recipient_countries = _countries()
    provider_countries = _countries(required=False)
    facilitating_partners = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Partner.objects.all(),
        required=False,
        help_text="Partner ids of traditional donors in a triangular exchange.",
    )
    requested_usd = serializers.DecimalField(
        **MONEY, min_value=Decimal("0.01"), max_value=MAX_GRANT_USD
    )
    targeted_outcomes = serializers.ListField(
        child=serializers.ChoiceField(choices=CapacityOutcome.choices),
        required=False,
        max_length=len(CapacityOutcome.values),
    )
    status = serializers.ChoiceField(choices=GrantStatus.choices, read_only=True)

    class Meta:
        model = Grant
        fields = [
            "id",
            "reference",
            "title",
            "summary",
            "task_team_leader",
            "sector",
            "region",
            "recipient_countries",
            "provider_countries",
            "facilitating_partners",
            "requested_usd",
            "approved_usd",
            "disbursed_usd",
            "status",
            "development_goal",
            "targeted_outcomes",
            "planned_start",
            "planned_end",
            "completion_report_due",
            "submitted_at",
            "decided_at",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "reference",
            "task_team_leader",
            "approved_usd",
            "disbursed_usd",
            "status",
            "completion_report_due",
            "submitted_at",
            "decided_at",
            "created_at",
        ]


CENT = Decimal("0.01")


def _money(value):
    return None if value is None else f"{value.quantize(CENT):f}"


def _day(value):
    return value.isoformat() if value else None


def grant_representation(row: dict, tz=None) -> dict:
    """What ``GrantSerializer`` gives for a grant, from a row of
    ``grants.selectors.grant_rows``: the same JSON, field for field and in the same
    order (tests/perf compare them over a generated portfolio), built directly.

    The grant list and detail are read far more often than anything is written: a
    ModelSerializer walking model instances costs them several times what their queries
    do. Writes still validate and answer through ``GrantSerializer``.
    """
    tz = tz or timezone.get_current_timezone()

    def stamp(value):
        # DRF's DateTimeField: in the current time zone, ISO 8601, UTC as "Z".
        if not value:
            return None
        text = value.astimezone(tz).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return {
        "id": row["id"],
        "reference": row["reference"],
        "title": row["title"],
        "summary": row["summary"],
        "task_team_leader": row["task_team_leader_id"],
        "sector": row["sector_id"],
        "region": row["region"],
        "recipient_countries": row["recipient_countries"],
        "provider_countries": row["provider_countries"],
        "facilitating_partners": row["facilitating_partners"],
        "requested_usd": _money(row["requested_usd"]),
        "approved_usd": _money(row["approved_usd"]),
        "disbursed_usd": _money(row["disbursed_usd"]),
        "status": row["status"],
        "development_goal": row["development_goal"],
        "targeted_outcomes": list(row["targeted_outcomes"]),
        "planned_start": _day(row["planned_start"]),
        "planned_end": _day(row["planned_end"]),
        "completion_report_due": _day(row["completion_report_due"]),
        "submitted_at": stamp(row["submitted_at"]),
        "decided_at": stamp(row["decided_at"]),
        "created_at": stamp(row["created_at"]),
    }


def grant_representations(rows: list[dict]) -> list[dict]:
    tz = timezone.get_current_timezone()
    return [grant_representation(row, tz) for row in rows]


class TransitionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ApproveSerializer(TransitionSerializer):
    approved_usd = serializers.DecimalField(
        **MONEY,
        min_value=Decimal("0.01"),
        max_value=MAX_GRANT_USD,
        help_text="At most the amount requested and the fund's available money.",
    )


class AllowedActionSerializer(serializers.Serializer):
    """One workflow action on a grant for the requesting user (grants.workflow)."""

    action = serializers.CharField()
    allowed = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why not, as the action would answer; or empty.")
    code = serializers.CharField(
        help_text="The refusal's code (permission_denied, self_approval, invalid_transition)."
    )


class GrantDetailSerializer(GrantSerializer):
    """A grant's detail: the grant, and what the requesting user may do with it now."""

    allowed_actions = AllowedActionSerializer(many=True, read_only=True)

    class Meta(GrantSerializer.Meta):
        fields = [*GrantSerializer.Meta.fields, "allowed_actions"]


class HistorySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = GrantHistory
        fields = ["at", "actor", "action", "from_status", "to_status", "comment"]
        read_only_fields = fields


class ExchangeSerializer(serializers.ModelSerializer):
    instrument = serializers.ChoiceField(choices=Instrument.choices)
    status = serializers.ChoiceField(choices=ExchangeStatus.choices, required=False)
    provider_countries = _countries(required=False)
    recipient_countries = _countries(required=False)
    participants = serializers.IntegerField(min_value=0, max_value=100000, required=False)
    women_participants = serializers.IntegerField(min_value=0, max_value=100000, required=False)

    class Meta:
        model = Exchange
        fields = [
            "id",
            "instrument",
            "title",
            "provider_countries",
            "recipient_countries",
            "start_date",
            "end_date",
            "location",
            "participants",
            "women_participants",
            "status",
        ]


class DisbursementSerializer(serializers.ModelSerializer):
    amount_usd = serializers.DecimalField(
        **MONEY, min_value=Decimal("0.01"), max_value=MAX_GRANT_USD
    )

    class Meta:
        model = Disbursement
        fields = ["id", "amount_usd", "disbursed_on", "purpose"]
