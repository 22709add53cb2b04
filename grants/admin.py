"""Grants in the admin: visible to staff, changed only through the services (the
workflow, the ledger and the history must stay consistent), so read-only here."""

from django.contrib import admin

from seetf.common.admin import ReadOnlyAdmin

from .models import (
    Disbursement,
    Exchange,
    Grant,
    GrantHistory,
    GrantPartnerRole,
    GrantStatusCount,
    ReferenceCounter,
    Reminder,
)


class GrantHistoryInline(admin.TabularInline):
    model = GrantHistory
    fields = ["at", "actor", "action", "from_status", "to_status", "comment"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "title",
        "status",
        "region",
        "sector",
        "requested_usd",
        "approved_usd",
        "disbursed_usd",
        "task_team_leader",
        "completion_report_due",
    ]
    list_filter = ["status", "region"]
    list_select_related = ["sector", "task_team_leader"]
    search_fields = ["reference", "title", "summary"]
    date_hierarchy = "created_at"
    inlines = [GrantHistoryInline]


@admin.register(GrantHistory)
class GrantHistoryAdmin(ReadOnlyAdmin):
    list_display = ["at", "grant", "actor", "action", "from_status", "to_status"]
    list_filter = ["action", "to_status"]
    list_select_related = ["grant", "actor"]


@admin.register(Exchange)
class ExchangeAdmin(ReadOnlyAdmin):
    list_display = ["title", "grant", "instrument", "start_date", "end_date", "status"]
    list_filter = ["instrument", "status"]
    list_select_related = ["grant"]


@admin.register(Disbursement)
class DisbursementAdmin(ReadOnlyAdmin):
    list_display = ["grant", "disbursed_on", "amount_usd", "recorded_by", "reverses", "reason"]
    list_select_related = ["grant", "recorded_by"]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["grant", "kind", "sequence", "recipient", "due_date", "sent_at", "attempts"]
    list_filter = ["kind"]
    list_select_related = ["grant"]


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(ReadOnlyAdmin):
    list_display = ["year", "last_number"]


@admin.register(GrantStatusCount)
class GrantStatusCountAdmin(ReadOnlyAdmin):
    """The grants at each status, as the database's triggers keep them (grants 0017)."""

    list_display = ["status", "count"]


@admin.register(GrantPartnerRole)
class GrantPartnerRoleAdmin(ReadOnlyAdmin):
    list_display = ["grant", "partner", "role", "cofinancing_usd"]
    list_filter = ["role"]
    list_select_related = ["grant", "partner"]
