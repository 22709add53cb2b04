"""Documents in the admin: listed for staff, read-only (uploads go through the service,
which checks the file and audits; the file itself is downloaded from the grant page)."""

from django.contrib import admin

from seetf.common.admin import ReadOnlyAdmin

from .models import Document


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["title", "grant", "category", "filename", "content_type", "size", "uploaded_at"]
    list_filter = ["category", "content_type"]
    search_fields = ["title", "filename", "grant__reference"]
    list_select_related = ["grant"]
