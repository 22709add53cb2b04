from django.contrib import admin

from seetf.common.admin import ReadOnlyAdmin

from .models import (
    Contribution,
    Country,
    Fund,
    FundAlert,
    Partner,
    PartnerMembership,
    Receipt,
    Sector,
)
from .services import contribution_update


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["code", "alpha2", "name", "region", "income_group"]
    list_filter = ["region", "income_group"]
    search_fields = ["code", "alpha2", "name"]


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category"]
    list_filter = ["category"]
    search_fields = ["code", "name"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "country", "joined_on", "iati_org_ref", "iati_org_type"]
    list_filter = ["kind", "iati_org_type"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["country"]


@admin.register(PartnerMembership)
class PartnerMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "partner"]
    list_select_related = ["user", "partner"]
    autocomplete_fields = ["partner"]
    raw_id_fields = ["user"]


class ReceiptInline(admin.TabularInline):
    model = Receipt
    fields = [
        "received_on",
        "amount",
        "usd_amount",
        "recorded_by",
        "created_at",
        "reverses",
        "reason",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "partner",
        "currency",
        "pledged_amount",
        "pledged_usd",
        "received_usd",
        "signed_on",
    ]
    list_filter = ["currency", "partner__kind"]
    list_select_related = ["partner"]
    search_fields = ["reference", "partner__name"]
    inlines = [ReceiptInline]
    # The money is the services' (read-only here); the donor's IATI activity identifier,
    # which moves no money, may be set from the admin, through the same service.
    fields = [
        "partner",
        "reference",
        "currency",
        "pledged_amount",
        "pledged_usd",
        "received_amount",
        "received_usd",
        "signed_on",
        "period_start",
        "period_end",
        "provider_activity_id",
    ]
    readonly_fields = [f for f in fields if f != "provider_activity_id"]

    def has_change_permission(self, request, obj=None):
        return admin.ModelAdmin.has_change_permission(self, request, obj)

    def save_model(self, request, obj, form, change):
        contribution_update(
            contribution=obj, provider_activity_id=form.cleaned_data["provider_activity_id"]
        )


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = [
        "contribution",
        "received_on",
        "amount",
        "usd_amount",
        "recorded_by",
        "reverses",
        "reason",
    ]
    list_select_related = ["contribution", "recorded_by"]
    date_hierarchy = "received_on"


@admin.register(Fund)
class FundAdmin(ReadOnlyAdmin):
    list_display = ["received_usd", "committed_usd", "disbursed_usd", "available_usd", "updated_at"]


@admin.register(FundAlert)
class FundAlertAdmin(ReadOnlyAdmin):
    list_display = ["kind", "raised_at", "resolved_at", "available_usd", "pipeline_usd"]
    list_filter = ["kind"]
