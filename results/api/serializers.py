from rest_framework import serializers

from grants.models import CapacityOutcome
from seetf.common.money import MONEY

from ..models import MAX_NEED_USD, ConcreteResultKind, FollowUpKind, FollowUpStatus, Rating


class ConcreteResultSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConcreteResultKind.choices)
    description = serializers.CharField(max_length=2000)


class FollowUpNeedInReportSerializer(serializers.Serializer):
    """A follow-up need as the completion report writes it (its id and status read)."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=FollowUpKind.choices)
    description = serializers.CharField(max_length=2000)
    estimated_usd = serializers.DecimalField(
        **MONEY,
        min_value=0,
        max_value=MAX_NEED_USD,
        required=False,
        allow_null=True,
        default=None,
        help_text="Its estimated cost in USD, if known.",
    )
    status = serializers.ChoiceField(choices=FollowUpStatus.choices, read_only=True)


class CompletionReportSerializer(serializers.Serializer):
    outcomes_achieved = serializers.ListField(
        child=serializers.ChoiceField(choices=CapacityOutcome.choices),
        max_length=len(CapacityOutcome.values),
        help_text="Which of the six intermediate capacity outcomes the exchanges achieved.",
    )
    concrete_results = ConcreteResultSerializer(many=True, max_length=50)
    participants = serializers.IntegerField(min_value=0, max_value=100000)
    rating = serializers.ChoiceField(choices=Rating.choices, allow_blank=True)
    lessons = serializers.CharField(max_length=20000, allow_blank=True)
    follow_up_needed = serializers.BooleanField()
    follow_up_description = serializers.CharField(
        max_length=5000, allow_blank=True, required=False, default=""
    )
    follow_up_needs = FollowUpNeedInReportSerializer(
        many=True,
        required=False,
        max_length=20,
        help_text="The follow-up needs; writing the list replaces them (the grant is "
        "approved: all still open); omitted, they stay. Any need makes follow_up_needed "
        "true. Fund managers record what became of each at /follow-up-needs/.",
    )
    # Null until the leader submits the report, and until a fund manager accepts it.
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    accepted_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, report):
        data = super().to_representation(report)
        data["concrete_results"] = [
            {"kind": r.kind, "description": r.description} for r in report.concrete_results.all()
        ]
        data["follow_up_needs"] = FollowUpNeedInReportSerializer(
            report.follow_up_needs.all(), many=True
        ).data
        return data


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
