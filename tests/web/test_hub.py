"""The public knowledge hub: published results stories, searched and filtered, and each
story's page; drafts stay with the fund managers."""

import pytest

from tests.results.factories import finished_grant, make_story
from tests.web.pages import page

pytestmark = pytest.mark.django_db


@pytest.fixture
def stories(funded, leader, fund_manager):
    kenya = finished_grant(
        leader, fund_manager, recipient_countries=["KEN"], region="AFR", sector="14010"
    )
    honduras = finished_grant(leader, fund_manager)  # LCR, HND
    return {
        "water": make_story(
            fund_manager,
            kenya,
            published=True,
            title="Water utilities cut their losses",
            body="Kenyan engineers visited **Brazil** to see leak detection at work.",
        ),
        "cash": make_story(
            fund_manager,
            honduras,
            published=True,
            title="Cash transfers reach the poorest",
            body="Officials learned targeting from their [peers](https://example.org/peers).",
        ),
        "draft": make_story(
            fund_manager, kenya, published=False, title="Water draft not yet published"
        ),
    }


def _titles(response):
    return [card.find("a").text for card in page(response).find_all(data_testid="story-card")]


def test_anyone_reads_the_published_stories_and_not_drafts(web, stories):
    response = web().get("/hub/")
    assert response.status_code == 200
    assert sorted(_titles(response)) == [
        "Cash transfers reach the poorest",
        "Water utilities cut their losses",
    ]
    assert page(response).testid("story-count").text.startswith("2 stories")


def test_the_hub_finds_stories_by_search(web, stories):
    assert _titles(web().get("/hub/?search=water")) == ["Water utilities cut their losses"]
    assert _titles(web().get("/hub/?search=targeting")) == ["Cash transfers reach the poorest"]
    assert _titles(web().get("/hub/?search=nothing-like-this")) == []


def test_the_hub_filters_by_region_country_and_outcome(web, stories):
    assert _titles(web().get("/hub/?region=AFR")) == ["Water utilities cut their losses"]
    assert _titles(web().get("/hub/?country=HND")) == ["Cash transfers reach the poorest"]
    assert len(_titles(web().get("/hub/?outcome=raised_awareness"))) == 2
    assert _titles(web().get("/hub/?outcome=strengthened_coalitions")) == []


def test_the_search_form_keeps_what_was_typed(web, stories):
    root = page(web().get("/hub/?search=water&region=AFR"))
    form = root.testid("hub-search-form")
    assert form.find("input", name="search").attrs["value"] == "water"
    region = form.find("select", name="region")
    assert [o.attrs["value"] for o in region.find_all("option") if "selected" in o.attrs] == ["AFR"]


def test_a_story_page_shows_the_sanitized_body(web, stories):
    response = web().get(f"/stories/{stories['water'].slug}/")
    assert response.status_code == 200
    root = page(response)
    assert root.testid("story-title").text == "Water utilities cut their losses"
    body = root.testid("story-body")
    assert body.find("strong").text == "Brazil"
    assert "Kenya" in root.text  # the story's country


def test_a_draft_story_is_a_404_except_to_fund_managers(web, stories, fund_manager, donor):
    url = f"/stories/{stories['draft'].slug}/"
    assert web().get(url).status_code == 404
    assert web(donor).get(url).status_code == 404
    root = page(web(fund_manager).get(url))
    root.testid("story-draft")
    # In the hub, fund managers see drafts, marked as such.
    hub = page(web(fund_manager).get("/hub/"))
    drafts = hub.find_all(data_testid="story-draft")
    assert len(drafts) == 1


def test_links_inside_a_story_are_the_only_external_ones(web, stories):
    root = page(web().get(f"/stories/{stories['cash'].slug}/"))
    link = root.testid("story-body").find("a")
    assert link.attrs["href"] == "https://example.org/peers"
    assert link.attrs["rel"] == "noopener noreferrer nofollow"


def test_the_count_is_one_sentence_in_the_singular_and_the_plural(web, fund_manager, stories):
    one = page(web(None).get("/hub/?search=leak")).testid("story-count").text
    assert one == "1 story matches your search."
    make_story(
        fund_manager, stories["cash"].grant, published=True, title="Leak detection spreads",
        body="Engineers trained others in leak detection.",
    )  # fmt: skip
    two = page(web(None).get("/hub/?search=leak")).testid("story-count").text
    assert two == "2 stories match your search."


def test_an_excerpt_keeps_a_space_between_the_blocks(web, fund_manager, stories):
    story = make_story(
        fund_manager,
        stories["water"].grant,
        published=True,
        title="Headings and sentences",
        body="## Context\n\nThe utility lost &amp; half its water.\n\n- One\n- Two",
    )
    card = page(web(None).get("/hub/")).find(data_slug=story.slug)
    excerpt = card.find(data_testid="story-excerpt").text
    assert excerpt == "Context The utility lost & half its water. One Two"


def test_the_country_filter_offers_the_countries_of_published_stories(web, fund_manager, stories):
    from partners.models import Country

    kenya, peru = Country.objects.get(code="KEN"), Country.objects.get(code="PER")
    stories["water"].countries.set([kenya])
    stories["draft"].countries.set([peru])  # a draft's countries are not offered
    form = page(web(None).get("/hub/")).testid("hub-search-form")
    offered = {o.attrs["value"] for o in form.find("select", name="country").find_all("option")}
    told = {c.code for story in (stories["water"], stories["cash"]) for c in story.countries.all()}
    assert "KEN" in told and "PER" not in told
    assert offered - {""} == told
    assert "ISO 3166" not in form.text


def test_a_story_is_dated_by_its_exchange_not_the_day_it_was_loaded(web, fund_manager, stories):
    from datetime import date

    from grants.models import Exchange

    cash = stories["cash"]
    # No exchange held: the grant's planned end.
    card = page(web(None).get("/hub/")).find(data_slug=cash.slug)
    assert card.find(data_testid="story-date").attrs["datetime"] == (
        cash.grant.planned_end.isoformat()
    )
    # Recorded as they would have been before the grant closed (a closed grant takes none).
    for start, end, status in [
        (date(2026, 2, 1), date(2026, 2, 5), "held"),
        (date(2026, 3, 1), date(2026, 3, 4), "held"),
        (date(2026, 5, 1), date(2026, 5, 9), "cancelled"),
    ]:
        Exchange.objects.create(
            grant=cash.grant, instrument="workshop", title="A workshop", start_date=start,
            end_date=end, status=status,
        )  # fmt: skip
    card = page(web(None).get("/hub/")).find(data_slug=cash.slug)
    assert card.find(data_testid="story-date").attrs["datetime"] == "2026-03-04"
    assert cash.published_at.date().isoformat() != "2026-03-04"
    story = page(web(None).get(f"/stories/{cash.slug}/")).testid("story-date").text
    assert story == "The exchange ended 2026-03-04"
