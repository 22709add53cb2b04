"""Read-only admin views: comments are never edited away, and notifications are the
record of what each user was told and when it was e-mailed."""

from django.contrib import admin

from .models import Comment, Notification


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Comment)
class CommentAdmin(ReadOnly):
    list_display = ["grant", "author", "created_at"]
    list_select_related = ["grant", "author"]
    search_fields = ["grant__reference", "author__username"]


@admin.register(Notification)
class NotificationAdmin(ReadOnly):
    list_display = ["user", "kind", "grant", "created_at", "read_at", "delivery", "emailed_at"]
    list_select_related = ["user", "grant"]
    list_filter = ["kind", "delivery"]
    search_fields = ["user__username", "grant__reference"]
