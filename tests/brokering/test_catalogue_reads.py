"""What the offers catalogue reads instead of working it out on every view: the offers'
rendered descriptions, kept by every writer of offers, and the catalogue's count on the
status index (``selectors.offers_visible_count``), which is ``offers_visible_to``'s."""

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser

from audit.models import AuditEntry
from bench.portfolio import generate_portfolio
from brokering import selectors, services
from brokering.models import Offer
from results.markdown import render_markdown
from tests.brokering.factories import make_offer, offer_data

pytestmark = pytest.mark.django_db

MARKDOWN = "Two **bold** steps:\n\n1. a [link](https://example.org)\n2. `code` & 3 > 2"


def _rendered(offer) -> str:
    return Offer.objects.get(pk=offer.pk).rendered_description


def test_the_services_keep_the_rendered_description(leader):
    offer = make_offer(leader, description=MARKDOWN)
    assert _rendered(offer) == render_markdown(MARKDOWN) != ""
    services.offer_update(offer=offer, user=leader, description="Now *one* step.")
    assert _rendered(offer) == render_markdown("Now *one* step.")
    # A change of anything else keeps it.
    services.offer_update(offer=offer, user=leader, title="Another title")
    assert _rendered(offer) == render_markdown("Now *one* step.")


def test_the_rendering_is_not_a_change_the_audit_records(leader):
    offer = make_offer(leader, description=MARKDOWN)
    services.offer_update(offer=offer, user=leader, description="Other.")
    entries = AuditEntry.objects.filter(object_id=str(offer.pk), action__startswith="offer.")
    update = entries.filter(action="offer.update").get()
    assert update.changes.keys() == {"description", "updated_at"}
    assert all("rendered_description" not in e.changes for e in entries)


def test_the_offers_of_the_past_are_rendered_as_they_are_recorded(fund_manager):
    data = offer_data(description=MARKDOWN)
    entry = {
        **data,
        "user": fund_manager,
        "reference": "OFR-2019-0007",
        "status": "published",
        "created_at": datetime(2019, 5, 1, tzinfo=UTC),
    }
    [offer] = services.offers_record_past(entries=[entry])
    assert _rendered(offer) == render_markdown(MARKDOWN)


def test_the_generated_portfolio_renders_its_offers(db):
    generate_portfolio(grants=30, seed=2)
    offers = list(Offer.objects.all())
    assert offers
    assert all(o.rendered_description == render_markdown(o.description) for o in offers)


def test_the_catalogue_shows_the_kept_rendering(web, leader):
    offer = make_offer(leader, description=MARKDOWN)
    Offer.objects.filter(pk=offer.pk).update(rendered_description="<p>kept</p>")
    page = web("anonymous").get("/offers/").content.decode()
    assert "<p>kept</p>" in page and "<strong>bold</strong>" not in page


def test_the_count_is_the_visible_offers(leader, leader2, donor, fund_manager):
    make_offer(leader, title="Published")
    make_offer(leader, status="draft", title="Leader's draft")
    make_offer(leader, status="withdrawn", title="Leader's withdrawn")
    make_offer(leader2, status="draft", title="Another's draft")
    make_offer(leader2, title="Another published")
    for user in (AnonymousUser(), donor, leader, leader2, fund_manager):
        counted = selectors.offers_visible_count(user)
        assert counted == selectors.offers_visible_to(user).count(), user
    assert selectors.offers_visible_count(leader) == 4
    assert selectors.offers_visible_count(AnonymousUser()) == 2


def test_the_migration_renders_the_offers_held(leader, monkeypatch):
    migration = importlib.import_module("brokering.migrations.0005_offer_rendered_description")
    monkeypatch.setattr(migration, "BATCH", 2)  # several batches
    for i in range(5):
        make_offer(leader, description=f"Offer **{i}**")
    Offer.objects.update(rendered_description="")
    migration.render_existing(apps, None)
    offers = list(Offer.objects.all())
    assert [o.rendered_description for o in offers] == [
        render_markdown(o.description) for o in offers
    ]
    assert offers[0].rendered_description == "<p>Offer <strong>0</strong></p>\n"
