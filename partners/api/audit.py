"""``/api/v1/audit/``: the audit log, read by fund managers (issue 14, point 6).

Read only: entries are written by the services in the transaction of the change they
record (``audit.services.audit_record``), and the database refuses UPDATE and DELETE.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers

from seetf.common.api import ErrorSerializer, RulePermission, ScopedReadOnlyViewSet

from ..filters import AuditEntryFilter
from ..permissions import can_read_audit_log
from ..selectors import audit_entries_visible_to


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    at = serializers.DateTimeField(read_only=True)
    actor = serializers.CharField(
        source="actor_name",
        read_only=True,
        help_text="The actor's username when the entry was written; `system` (or a job's "
        "name) when nobody did.",
    )
    action = serializers.CharField(
        read_only=True, help_text="`grant.approve`, `receipt.reverse`..."
    )
    model = serializers.SerializerMethodField(help_text="The object's type: `grants.grant`.")
    object_id = serializers.CharField(read_only=True)
    object_repr = serializers.CharField(
        read_only=True, help_text="The object as it was named then."
    )
    changes = serializers.DictField(
        child=serializers.ListField(
            child=serializers.JSONField(allow_null=True), min_length=2, max_length=2
        ),
        read_only=True,
        help_text="`{field: [before, after]}`; money as decimal strings, times ISO 8601, a "
        "related object as its id. Never a password or a token.",
    )
    reason = serializers.CharField(read_only=True, help_text="The comment or reason given.")
    address = serializers.IPAddressField(
        read_only=True, allow_null=True, help_text="The client's address, null for a job."
    )

    def get_model(self, entry) -> str | None:
        ct = entry.content_type
        return f"{ct.app_label}.{ct.model}" if ct is not None else None


NOT_YOURS = {
    401: OpenApiResponse(ErrorSerializer, description="No credentials."),
    403: OpenApiResponse(ErrorSerializer, description="Only fund managers read the audit log."),
}


@extend_schema_view(
    list=extend_schema(
        responses={
            200: AuditEntrySerializer(many=True),
            400: OpenApiResponse(description="A filter's value is invalid."),
            404: OpenApiResponse(description="No such page."),
            **NOT_YOURS,
        }
    ),
    retrieve=extend_schema(
        responses={
            200: AuditEntrySerializer,
            404: OpenApiResponse(description="No such entry."),
            **NOT_YOURS,
        }
    ),
)
class AuditEntryViewSet(ScopedReadOnlyViewSet):
    """The audit log, newest first: who changed what (money, a status, a permission,
    published content), when, from where, each field before and after. Fund managers
    only; filter by `action`, `model`, `object_id`, `actor`, `since`, `until`."""

    scope = staticmethod(audit_entries_visible_to)
    serializer_class = AuditEntrySerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(can_read_audit_log)
    filterset_class = AuditEntryFilter
    ordering_fields = ["at", "id"]
    ordering = ["-at", "-id"]
