from rest_framework import serializers

from seetf.common.money import CENT, MONEY

from ..models import (
    MAX_AMOUNT,
    REASON_MAX_LENGTH,
    Contribution,
    ContributionStatus,
    Country,
    Partner,
    PartnerKind,
    Receipt,
    Sector,
)

AMOUNT = {**MONEY, "min_value": CENT, "max_value": MAX_AMOUNT}
# What a receipt's or a disbursement's answer says of reversing entries (server-owned).
REVERSAL_FIELDS = ["reverses", "reason"]


class CountrySerializer(serializers.ModelSerializer):
    class Meta:
        model = Country
        fields = ["code", "alpha2", "name", "region", "income_group"]


class SectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sector
        fields = ["code", "name", "category"]


class PartnerSerializer(serializers.ModelSerializer):
    country = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Country.objects.all(),
        required=False,
        allow_null=True,
        help_text="ISO 3166-1 alpha-3 code.",
    )
    kind = serializers.ChoiceField(choices=PartnerKind.choices)

    class Meta:
        model = Partner
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "country",
            "joined_on",
            "iati_org_ref",
            "iati_org_type",
        ]


class ContributionOutputSerializer(serializers.ModelSerializer):
    outstanding_usd = serializers.DecimalField(**MONEY, read_only=True)
    status = serializers.ChoiceField(choices=ContributionStatus.choices, read_only=True)

    class Meta:
        model = Contribution
        fields = [
            "id",
            "partner",
            "reference",
            "currency",
            "pledged_amount",
            "pledged_usd",
            "received_usd",
            "outstanding_usd",
            "signed_on",
            "period_start",
            "period_end",
            "provider_activity_id",
            "status",
        ]
        read_only_fields = fields


class ContributionInputSerializer(serializers.Serializer):
    partner = serializers.PrimaryKeyRelatedField(queryset=Partner.objects.all())
    reference = serializers.CharField(max_length=64)
    currency = serializers.CharField(min_length=3, max_length=3, help_text="ISO 4217 code.")
    pledged_amount = serializers.DecimalField(**AMOUNT, help_text="In `currency`.")
    pledged_usd = serializers.DecimalField(
        **AMOUNT, required=False, help_text="The USD value; may be left out for a USD pledge."
    )
    signed_on = serializers.DateField(required=False, allow_null=True)
    period_start = serializers.DateField(required=False, allow_null=True)
    period_end = serializers.DateField(required=False, allow_null=True)
    provider_activity_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The donor's own IATI activity identifier for this money (traceability).",
    )


class ReceiptSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(**AMOUNT, help_text="In the contribution's currency.")
    usd_amount = serializers.DecimalField(
        **AMOUNT,
        required=False,
        help_text="The USD credited; equal to `amount` (and optional) for a USD contribution.",
    )

    class Meta:
        model = Receipt
        fields = ["id", "amount", "usd_amount", "received_on", *REVERSAL_FIELDS]
        read_only_fields = REVERSAL_FIELDS


class ReversalInputSerializer(serializers.Serializer):
    """The request that reverses a receipt or a disbursement."""

    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH, help_text="Why the entry is reversed (required)."
    )


class ContributionReportRowSerializer(serializers.Serializer):
    partner = serializers.CharField()
    code = serializers.CharField()
    kind = serializers.CharField()
    pledged_usd = serializers.DecimalField(**MONEY)
    received_usd = serializers.DecimalField(**MONEY)
    outstanding_usd = serializers.DecimalField(**MONEY)


class ContributionReportTotalsSerializer(serializers.Serializer):
    pledged_usd = serializers.DecimalField(**MONEY)
    received_usd = serializers.DecimalField(**MONEY)
    outstanding_usd = serializers.DecimalField(**MONEY)


class ContributionReportSerializer(serializers.Serializer):
    rows = ContributionReportRowSerializer(many=True)
    totals = ContributionReportTotalsSerializer()


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
