from django.contrib import admin

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read only: the log is written by the services and the database refuses edits."""

    list_display = ("at", "actor_name", "action", "object_repr", "address")
    list_filter = ("action", "content_type")
    search_fields = ("actor_name", "object_repr", "object_id", "reason")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
