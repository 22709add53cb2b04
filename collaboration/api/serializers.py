from rest_framework import serializers

from seetf.common.rows import RowRepresentation

from ..models import Comment, Notification


class GrantCommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)
    body = serializers.CharField(
        max_length=10000,
        help_text="Markdown. `@username` names a participant of the discussion, who is "
        "notified (other @names stay plain text).",
    )
    body_html = serializers.CharField(
        read_only=True, help_text="The body rendered and sanitised, as stories are."
    )

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "body_html", "created_at"]
        read_only_fields = ["id", "author", "body_html", "created_at"]


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "grant", "text", "created_at", "read_at"]
        read_only_fields = fields


# The user's notifications as rows (seetf.common.rows): NotificationSerializer's JSON from
# ``.values()``, every column taken from its declaration. The list is read on every
# visit of a person's inbox: model instances walked by the serializer cost it more than
# its queries.
NOTIFICATION_ROWS = RowRepresentation(NotificationSerializer)


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=1000,
        help_text="The notifications to mark read; left out, all of the user's.",
    )


class MarkedReadSerializer(serializers.Serializer):
    read = serializers.IntegerField(help_text="How many notifications were newly marked read.")
    unread = serializers.IntegerField(help_text="How many are still unread.")
