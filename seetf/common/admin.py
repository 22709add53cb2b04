from django.contrib import admin

from .models import DataChange, IdempotencyKey


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records of money and history: visible in the admin, written only through the
    services (which lock, check and audit), never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["key", "user", "response_status", "created_at"]
    search_fields = ["key"]


@admin.register(DataChange)
class DataChangeAdmin(ReadOnlyAdmin):
    """The data version's change rows (seetf.common.datacache): written by triggers only."""

    list_display = ["id", "weight"]
