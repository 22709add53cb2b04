"""Offers and requests made through the brokering services."""

from datetime import timedelta

from django.utils import timezone

from brokering import services
from partners.models import Country, Sector


def offer_data(**overrides) -> dict:
    data = {
        "title": "Conditional cash transfers: Prospera's lessons",
        "description": "How Mexico targets **transfers** to poor households.",
        "provider_country": Country.objects.get(code="MEX"),
        "institution": "Secretaría de Bienestar",
        "sectors": [Sector.objects.get(code="16010")],
        "instruments": ["study_tour", "videoconference"],
        "languages": ["es", "en"],
        "capacity_per_year": 3,
        "contact_name": "Ana Pérez",
        "contact_email": "ana@example.org",
    }
    data.update(overrides)
    return data


def make_offer(user, *, status="published", **overrides):
    if "provider_country" in overrides and isinstance(overrides["provider_country"], str):
        overrides["provider_country"] = Country.objects.get(code=overrides["provider_country"])
    if "sectors" in overrides:
        overrides["sectors"] = [
            Sector.objects.get(code=s) if isinstance(s, str) else s for s in overrides["sectors"]
        ]
    offer = services.offer_create(user=user, **offer_data(**overrides))
    if status == "published":
        offer = services.offer_transition(offer=offer, user=user, action="publish")
    elif status == "withdrawn":
        offer = services.offer_transition(offer=offer, user=user, action="withdraw")
    return offer


def request_data(**overrides) -> dict:
    data = {
        "title": "Cash transfers for Honduras",
        "description": "Honduras wants to learn how to target cash transfers.",
        "recipient_country": Country.objects.get(code="HND"),
        "sectors": [Sector.objects.get(code="16010")],
        "instruments": ["study_tour"],
        "languages": ["es"],
        "needed_by": timezone.localdate() + timedelta(days=120),
        "endorsed_on": None,
    }
    data.update(overrides)
    return data


def make_request(user, **overrides):
    if "recipient_country" in overrides and isinstance(overrides["recipient_country"], str):
        overrides["recipient_country"] = Country.objects.get(code=overrides["recipient_country"])
    if "sectors" in overrides:
        overrides["sectors"] = [
            Sector.objects.get(code=s) if isinstance(s, str) else s for s in overrides["sectors"]
        ]
    return services.request_create(user=user, **request_data(**overrides))
