"""Offer and request references: given by the services on creation, unique, shown in the
API; the rows held before numbered by the data migration, in creation order by year."""

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.utils import timezone

from brokering.models import BrokeringCounter, Offer
from brokering.references import references_reserve
from seetf.common.models import explicit_timestamps

from .factories import make_offer

pytestmark = pytest.mark.django_db

migration = importlib.import_module("brokering.migrations.0003_references")


def test_the_services_number_offers_in_the_year_of_their_creation(leader, client_for):
    year = timezone.localdate().year
    first, second = make_offer(leader), make_offer(leader, status="draft")
    assert (first.reference, second.reference) == (f"OFR-{year}-0001", f"OFR-{year}-0002")
    body = client_for("leader").get(f"/api/v1/offers/{second.pk}/").json()
    assert body["reference"] == f"OFR-{year}-0002"
    # A reference given by the importer raises the counter past it.
    references_reserve([f"OFR-{year}-0040"])
    assert make_offer(leader).reference == f"OFR-{year}-0041"


def test_the_migration_numbers_the_rows_held_and_leaves_the_counters_at_them(leader):
    def offer(title, at):
        return Offer(
            title=title,
            description="d",
            provider_country_id="MEX",
            institution="i",
            instruments=["study_tour"],
            languages=["es"],
            capacity_per_year=1,
            contact_name="c",
            contact_email="c@example.org",
            created_by=leader,
            created_at=at,
            updated_at=at,
        )

    with explicit_timestamps(Offer):
        Offer.objects.bulk_create(
            [
                offer("b", datetime(2024, 5, 1, 12, tzinfo=UTC)),
                offer("a", datetime(2024, 2, 1, 12, tzinfo=UTC)),
                offer("c", datetime(2025, 1, 3, 12, tzinfo=UTC)),
            ]
        )
    migration.number(apps, None)
    assert dict(Offer.objects.values_list("title", "reference")) == {
        "a": "OFR-2024-0001",
        "b": "OFR-2024-0002",
        "c": "OFR-2025-0001",
    }
    assert dict(
        BrokeringCounter.objects.filter(prefix="OFR").values_list("year", "last_number")
    ) == {2024: 2, 2025: 1}
