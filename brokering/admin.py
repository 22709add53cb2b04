"""Brokering in the admin: read-only (the services own the writes and their audit)."""

from django.contrib import admin

from seetf.common.admin import ReadOnlyAdmin

from .models import BrokeringCounter, ExchangeRequest, Match, Offer


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "title",
        "provider_country",
        "institution",
        "status",
        "capacity_per_year",
    ]
    list_filter = ["status"]
    list_select_related = ["provider_country"]
    search_fields = ["title", "institution", "description"]


@admin.register(ExchangeRequest)
class ExchangeRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "title",
        "recipient_country",
        "status",
        "needed_by",
        "requested_by",
    ]
    list_filter = ["status"]
    list_select_related = ["recipient_country", "requested_by"]
    search_fields = ["title", "description"]


@admin.register(Match)
class MatchAdmin(ReadOnlyAdmin):
    list_display = ["request", "offer", "grant", "matched_by", "matched_at", "year"]
    list_select_related = ["request", "offer", "grant", "matched_by"]


@admin.register(BrokeringCounter)
class BrokeringCounterAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "year", "last_number"]
