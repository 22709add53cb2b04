from django.contrib import admin

from seetf.common.admin import ReadOnlyAdmin

from .models import GrantCycleDirty, GrantCycleFacts


@admin.register(GrantCycleFacts)
class GrantCycleFactsAdmin(ReadOnlyAdmin):
    """Each grant's cycle facts, as the cycle-times report keeps them (analytics 0001)."""

    list_display = ["grant_id", "zone", "submitted", "decided", "closed", "returns"]


@admin.register(GrantCycleDirty)
class GrantCycleDirtyAdmin(ReadOnlyAdmin):
    """The grants whose facts are to be computed again (noted by triggers)."""

    list_display = ["id", "grant_id"]
