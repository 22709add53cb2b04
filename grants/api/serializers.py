from rest_framework import serializers

MONEY = {"max_digits": 16, "decimal_places": 2}


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
