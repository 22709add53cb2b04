"""What the offers catalogue reads instead of working it out on every view: the offers'
rendered descriptions, kept by every writer of offers (the page and the API show them),
the catalogue's count on the status index (``selectors.offers_visible_count``), which is
``offers_visible_to``'s, a sector's offers found without DISTINCT, and on PostgreSQL the
language filter's trigram index (brokering 0006)."""

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from bench.portfolio import generate_portfolio
from brokering import selectors, services
from brokering.models import Offer
from results.markdown import render_markdown
from tests.brokering.factories import make_offer, make_request, offer_data

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


def test_the_api_shows_the_kept_rendering(client_for, leader):
    offer = make_offer(leader, description=MARKDOWN)
    Offer.objects.filter(pk=offer.pk).update(rendered_description="<p>kept</p>")
    # A row written outside the offers' writers, with none kept: rendered when shown.
    bare = make_offer(leader, description="*Bare*")
    Offer.objects.filter(pk=bare.pk).update(rendered_description="")
    for who in (None, leader):
        client = client_for(who)
        listed = {
            o["id"]: o["description_html"] for o in client.get("/api/v1/offers/").data["results"]
        }
        assert listed == {offer.pk: "<p>kept</p>", bare.pk: render_markdown("*Bare*")}
        shown = client.get(f"/api/v1/offers/{offer.pk}/").data["description_html"]
        assert shown == "<p>kept</p>"
    request = make_request(leader, recipient_country="HND")
    suggested = client_for(leader).get(f"/api/v1/requests/{request.pk}/suggestions/").json()
    by_id = {s["offer"]["id"]: s["offer"]["description_html"] for s in suggested}
    assert by_id[offer.pk] == "<p>kept</p>"


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


def test_the_api_counts_the_whole_catalogue_as_it_lists_it(
    client_for, leader, leader2, donor, fund_manager
):
    make_offer(leader, title="Published")
    make_offer(leader, status="draft", title="Leader's draft")
    make_offer(leader2, status="withdrawn", title="Another's withdrawn")
    make_offer(leader2, title="Another published")
    for user in (None, donor, leader, leader2, fund_manager):
        for query in ("", "?page_size=1", "?search=", "?provider_country=MEX"):
            answer = client_for(user).get(f"/api/v1/offers/{query}").data
            visible = selectors.offers_visible_to(AnonymousUser() if user is None else user)
            assert answer["count"] == visible.count(), (user, query)
    # Counted on the status index: the visibility's OR is not what is counted.
    with CaptureQueriesContext(connection) as queries:
        assert client_for(leader).get("/api/v1/offers/").data["count"] == 3
    [count] = [q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"]]
    assert " OR " not in count, count


def test_a_sector_or_its_category_lists_an_offer_once(client_for, leader):
    both = make_offer(leader, sectors=["16010", "16020"], title="Both")
    make_offer(leader, sectors=["16020"], title="The other")
    make_offer(leader, sectors=["31120"], title="Elsewhere")
    client = client_for(leader)
    for query, titles in [
        ("?sector=16010", ["Both"]),
        ("?sector=16020", ["Both", "The other"]),
        ("?category=160", ["Both", "The other"]),
        ("?category=160&sector=16010", ["Both"]),
    ]:
        answer = client.get(f"/api/v1/offers/{query}").data
        assert [o["title"] for o in answer["results"]] == titles, query
        assert answer["count"] == len(titles), query
    [shown] = client.get("/api/v1/offers/?sector=16010").data["results"]
    assert shown["id"] == both.pk and shown["sectors"] == ["16010", "16020"]


@pytest.mark.postgres
def test_the_language_filter_is_read_from_its_trigram_index(client_for, leader):
    # A language few offers have.
    make_offer(leader, languages=["sw"], title="Kiswahili")
    template = Offer.objects.get()
    Offer.objects.bulk_create(
        Offer(
            title=f"Offer {i}",
            description="Plain.",
            provider_country_id="MEX",
            institution="An institution",
            instruments=["workshop"],
            languages=["en", "fr"],
            capacity_per_year=1,
            contact_name="A contact",
            contact_email="contact@example.org",
            status="published",
            created_by=template.created_by,
        )
        for i in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE brokering_offer")
    with CaptureQueriesContext(connection) as queries:
        answer = client_for(leader).get("/api/v1/offers/?language=sw").data
    assert [o["title"] for o in answer["results"]] == ["Kiswahili"]
    [count] = [q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"]]
    with connection.cursor() as cursor:
        # On so few rows reading them all is priced lowest: priced out, the plan shows
        # the index matches the very text the filter writes (as it does at 100,000).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {count}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "brokering_offer_languages_trgm" in plan, plan
