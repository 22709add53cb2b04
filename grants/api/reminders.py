import django_filters
from rest_framework import serializers

from seetf.common.api import RulePermission, ScopedReadOnlyViewSet

from ..models import Reminder, ReminderKind
from ..permissions import can_read_reminders
from ..selectors import reminders_visible_to


class ReminderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reminder
        fields = ["id", "grant", "kind", "sequence", "due_date", "sent_at", "recipient"]
        read_only_fields = fields


class ReminderFilter(django_filters.FilterSet):
    # A plain number, not a choice of grants: a choice would answer 400 for a grant that
    # does not exist and 200 for one the user may not see, telling them which exist.
    grant = django_filters.NumberFilter(field_name="grant_id")
    kind = django_filters.ChoiceFilter(choices=ReminderKind.choices)
    sent = django_filters.BooleanFilter(field_name="sent_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Reminder
        fields = ["grant", "kind", "sent"]


class ReminderViewSet(ScopedReadOnlyViewSet):
    """Completion-report reminders: fund managers see all, a task team leader the ones
    sent to them. `sent_at` is empty while a reminder waits to be (re)sent."""

    scope = staticmethod(reminders_visible_to)
    serializer_class = ReminderSerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(can_read_reminders)
    filterset_class = ReminderFilter
    ordering_fields = ["created_at", "sent_at", "due_date"]
    ordering = ["-created_at", "-id"]
