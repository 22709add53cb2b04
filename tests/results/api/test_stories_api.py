"""`/api/v1/results-stories/`: who sees and does what, the shape, filters, query counts."""

import json

import pytest

from grants.models import GrantStatus
from results.models import ResultsStory
from tests.grants.factories import make_grant
from tests.results.conftest import READERS
from tests.results.factories import finished_grant, make_story
from tests.results.test_markdown import XSS_PAYLOADS, assert_harmless

pytestmark = pytest.mark.django_db

URL = "/api/v1/results-stories/"
FIELDS = {
    "id",
    "slug",
    "grant",
    "grant_reference",
    "title",
    "body",
    "body_html",
    "sectors",
    "countries",
    "outcomes",
    "published",
    "published_at",
}


@pytest.fixture
def published(fund_manager, closed_grant):
    return make_story(fund_manager, closed_grant, title="Published story", published=True)


@pytest.fixture
def draft(fund_manager, closed_grant):
    return make_story(fund_manager, closed_grant, title="Draft story")


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- Reading --------------------------------------------------------------------------


@pytest.mark.parametrize("role", READERS)
def test_readers_see_published_stories_only_and_drafts_are_404(client_for, role, published, draft):
    client = client_for(role)
    assert _ids(client.get(URL)) == [published.id]
    assert client.get(f"{URL}{published.id}/").status_code == 200
    assert client.get(f"{URL}{draft.id}/").status_code == 404
    assert _ids(client.get(URL, {"published": "false"})) == []


def test_fund_managers_see_drafts_too(client_for, published, draft):
    client = client_for("fund_manager")
    assert set(_ids(client.get(URL))) == {published.id, draft.id}
    assert client.get(f"{URL}{draft.id}/").status_code == 200
    assert _ids(client.get(URL, {"published": "false"})) == [draft.id]
    assert _ids(client.get(URL, {"published": "true"})) == [published.id]


def test_a_story_has_the_documented_shape(client_for, published, closed_grant):
    body = client_for("anonymous").get(f"{URL}{published.id}/").json()
    assert set(body) == FIELDS
    assert body["id"] == published.id
    assert body["slug"] == "published-story"
    assert body["grant"] == closed_grant.id
    assert body["grant_reference"] == closed_grant.reference
    assert body["title"] == "Published story"
    assert body["body"] == "Officials **learned** from their peers."
    assert body["body_html"] == "<p>Officials <strong>learned</strong> from their peers.</p>\n"
    assert body["sectors"] == ["16010"]
    assert body["countries"] == ["HND"]
    assert sorted(body["outcomes"]) == ["increased_implementation_knowhow", "raised_awareness"]
    assert body["published"] is True
    assert body["published_at"].endswith(("Z", "+00:00"))


def test_the_list_is_paginated_newest_published_first(client_for, fund_manager, closed_grant):
    made = [make_story(fund_manager, closed_grant, title=f"S{i}", published=True) for i in range(3)]
    page = client_for("anonymous").get(URL, {"page_size": 2}).json()
    assert page["count"] == 3
    assert page["next"] is not None and page["previous"] is None
    assert [row["id"] for row in page["results"]] == [made[2].id, made[1].id]


@pytest.mark.parametrize("path", ["abc/", "0/", "99999999999999999999999/"])
def test_unknown_ids_are_404(client_for, path):
    assert client_for("anonymous").get(f"{URL}{path}").status_code == 404


# --- Writing --------------------------------------------------------------------------


def _new_story(grant, **extra):
    return {"grant": grant.id, "title": "Peer learning works", "body": "It **did**.", **extra}


def test_a_fund_manager_writes_and_publishes_a_story(client_for, closed_grant):
    client = client_for("fund_manager")
    created = client.post(
        URL,
        _new_story(
            closed_grant,
            sectors=["31120", "16010"],
            countries=["KEN"],
            outcomes=["enhanced_networks"],
        ),
    )
    assert created.status_code == 201, created.json()
    story = created.json()
    assert set(story) == FIELDS
    assert story["published"] is False and story["published_at"] is None
    assert story["body_html"] == "<p>It <strong>did</strong>.</p>\n"
    assert sorted(story["sectors"]) == ["16010", "31120"]
    assert (story["countries"], story["outcomes"]) == (["KEN"], ["enhanced_networks"])
    story_url = f"{URL}{story['id']}/"
    assert client_for("anonymous").get(story_url).status_code == 404

    patched = client.patch(story_url, {"body": "# Done\n\n[report](https://example.org)"})
    assert patched.status_code == 200, patched.json()
    assert patched.json()["title"] == "Peer learning works"
    assert patched.json()["body_html"] == (
        '<h2>Done</h2>\n<p><a href="https://example.org" rel="noopener noreferrer nofollow">'
        "report</a></p>\n"
    )
    assert patched.json()["sectors"] == story["sectors"]

    published = client.post(f"{story_url}publish/")
    assert published.status_code == 200, published.json()
    assert published.json()["published"] is True and published.json()["published_at"]
    assert client_for("anonymous").get(story_url).json()["body_html"] == patched.json()["body_html"]
    again = client.post(f"{story_url}publish/")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")

    unpublished = client.post(f"{story_url}unpublish/")
    assert unpublished.status_code == 200
    assert unpublished.json()["published"] is False
    assert client_for("anonymous").get(story_url).status_code == 404


def test_anonymous_writes_are_401(client_for, closed_grant, published, draft):
    client = client_for("anonymous")
    assert client.post(URL, _new_story(closed_grant)).status_code == 401
    for story in (published, draft):
        assert client.patch(f"{URL}{story.id}/", {"title": "x"}).status_code == 401
        assert client.post(f"{URL}{story.id}/publish/").status_code == 401
        assert client.post(f"{URL}{story.id}/unpublish/").status_code == 401
    assert ResultsStory.objects.filter(title="x").count() == 0


@pytest.mark.parametrize("role", ["donor", "leader", "no_role"])
def test_other_roles_writing_get_403_or_404_for_a_draft_and_change_nothing(
    client_for, role, closed_grant, published, draft
):
    client = client_for(role)
    created = client.post(URL, _new_story(closed_grant))
    assert (created.status_code, created.json()["code"]) == (403, "permission_denied")
    patched = client.patch(f"{URL}{published.id}/", {"title": "Hacked"})
    assert (patched.status_code, patched.json()["code"]) == (403, "permission_denied")
    assert client.post(f"{URL}{published.id}/unpublish/").status_code == 403
    # A draft they may not see stays a 404, as if it did not exist.
    assert client.patch(f"{URL}{draft.id}/", {"title": "Hacked"}).status_code == 404
    assert client.post(f"{URL}{draft.id}/publish/").status_code == 404
    assert ResultsStory.objects.count() == 2
    assert not ResultsStory.objects.filter(title="Hacked").exists()
    draft.refresh_from_db()
    assert draft.published is False


def test_put_and_delete_are_not_offered(client_for, published):
    client = client_for("fund_manager")
    before = list(ResultsStory.objects.values())
    assert client.put(f"{URL}{published.id}/", {"title": "Replaced"}).status_code == 405
    assert client.delete(f"{URL}{published.id}/").status_code == 405
    assert list(ResultsStory.objects.values()) == before


@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "b" * 50001}, "body"),
        # Not valid Unicode: refused by the JSON parser for every endpoint (parse_error).
        ({"body": "bad \ud800 text"}, "detail"),
        ({"sectors": ["99999"]}, "sectors"),
        ({"countries": ["XXX"]}, "countries"),
        ({"outcomes": ["world_peace"]}, "outcomes"),
        ({"grant": 999999}, "grant"),
        ({"grant": "abc"}, "grant"),
    ],
)
def test_invalid_stories_are_400_by_field_and_write_nothing(
    client_for, closed_grant, change, field
):
    # Sent as JSON text by hand: the test client could not encode a lone surrogate.
    body = json.dumps({**_new_story(closed_grant), **change})
    response = client_for("fund_manager").post(URL, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ResultsStory.objects.exists()


def test_a_story_about_a_grant_not_yet_approved_is_400(client_for, funded, leader, fund_manager):
    submitted = make_grant(leader, GrantStatus.SUBMITTED, manager=fund_manager)
    response = client_for("fund_manager").post(URL, _new_story(submitted))
    assert response.status_code == 400
    assert list(response.json()) == ["grant"]
    # A draft is not even visible to fund managers: "does not exist".
    draft = make_grant(leader, GrantStatus.DRAFT)
    assert "grant" in client_for("fund_manager").post(URL, _new_story(draft)).json()


# --- Sanitizing through the API -----------------------------------------------------------


def test_no_xss_payload_reaches_readers_through_the_api(client_for, closed_grant):
    fm = client_for("fund_manager")
    created = fm.post(URL, _new_story(closed_grant, body="\n\n".join(XSS_PAYLOADS)))
    assert created.status_code == 201, created.json()
    story_id = created.json()["id"]
    assert_harmless(created.json()["body_html"])
    fm.post(f"{URL}{story_id}/publish/")
    for response in (
        client_for("anonymous").get(f"{URL}{story_id}/"),
        client_for("anonymous").get(URL),
    ):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        body = response.json()
        html = body["body_html"] if "body_html" in body else body["results"][0]["body_html"]
        assert_harmless(html)
    # Each payload also on its own, through PATCH.
    for payload in XSS_PAYLOADS:
        patched = fm.patch(f"{URL}{story_id}/", {"body": payload})
        assert patched.status_code == 200, (payload, patched.content)
        assert_harmless(patched.json()["body_html"])


# --- Filters ---------------------------------------------------------------------------------


@pytest.fixture
def portfolio(funded, leader, fund_manager):
    """Three published stories on three grants that differ in every filtered fact."""
    honduras = finished_grant(
        leader,
        fund_manager,
        title="Cash transfers",
        outcomes=["raised_awareness"],
        instruments=["study_tour"],
    )
    kenya = finished_grant(
        leader,
        fund_manager,
        title="Dairy",
        sector="31163",
        region="AFR",
        recipient_countries=["KEN", "TZA"],
        outcomes=["enhanced_networks"],
        instruments=["videoconference"],
    )
    vietnam = finished_grant(
        leader,
        fund_manager,
        title="Renewables",
        sector="23210",
        region="EAP",
        recipient_countries=["VNM"],
        outcomes=["strengthened_coalitions"],
    )
    return {
        "honduras": make_story(
            fund_manager,
            honduras,
            title="Cash reaches the poorest",
            body="Conditional transfers in Honduras.",
            published=True,
        ),
        "kenya": make_story(
            fund_manager,
            kenya,
            title="Milk cooperatives",
            body="Dairy farmers learned from India's cooperatives.",
            published=True,
        ),
        "vietnam": make_story(
            fund_manager,
            vietnam,
            title="Solar in the delta",
            body="Grid operators met their peers.",
            published=True,
            # A story can tell of a country beyond its grant's region.
            countries=[],
        ),
    }


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"sector": "31163"}, {"kenya"}),
        ({"sector": "16010"}, {"honduras"}),
        ({"country": "TZA"}, {"kenya"}),
        ({"country": "HND"}, {"honduras"}),
        ({"region": "AFR"}, {"kenya"}),
        ({"region": "EAP"}, {"vietnam"}),
        ({"region": "SAR"}, set()),
        ({"outcome": "enhanced_networks"}, {"kenya"}),
        ({"outcome": "increased_implementation_knowhow"}, set()),
        ({"instrument": "study_tour"}, {"honduras"}),
        ({"instrument": "videoconference"}, {"kenya"}),
        ({"instrument": "workshop"}, set()),
        ({"search": "cooperatives"}, {"kenya"}),
        ({"search": "HONDURAS"}, {"honduras"}),
        ({"search": "delta"}, {"vietnam"}),
        ({"search": "peers delta"}, {"vietnam"}),
        ({"search": "nothing-like-this"}, set()),
        ({"region": "AFR", "outcome": "raised_awareness"}, set()),
        ({"sector": "31163", "country": "KEN", "instrument": "videoconference"}, {"kenya"}),
    ],
)
def test_each_filter(client_for, portfolio, params, expected):
    ids = _ids(client_for("anonymous").get(URL, params))
    assert len(ids) == len(set(ids)), "a story was listed twice"
    assert set(ids) == {portfolio[name].id for name in expected}


def test_region_also_matches_the_story_countries(client_for, portfolio, fund_manager):
    from partners.models import Country
    from results import services as result_services

    result_services.story_update(
        story=portfolio["vietnam"], user=fund_manager, countries=[Country.objects.get(code="IND")]
    )
    assert set(_ids(client_for("anonymous").get(URL, {"region": "SAR"}))) == {
        portfolio["vietnam"].id
    }


def test_the_grant_filter(client_for, portfolio):
    grant_id = portfolio["kenya"].grant_id
    assert _ids(client_for("anonymous").get(URL, {"grant": grant_id})) == [portfolio["kenya"].id]
    assert _ids(client_for("anonymous").get(URL, {"grant": 987654})) == []


def test_a_cancelled_exchange_does_not_count_for_the_instrument_filter(
    client_for, funded, leader, fund_manager
):
    from grants import services as grant_services

    grant = finished_grant(leader, fund_manager, instruments=["workshop"])
    exchange = grant.exchanges.get()
    story = make_story(fund_manager, grant, published=True)
    assert _ids(client_for("anonymous").get(URL, {"instrument": "workshop"})) == [story.id]
    # The grant is closed now; record the cancellation as the data fix it would be.
    type(exchange).objects.filter(pk=exchange.pk).update(status="cancelled")
    assert grant_services  # the services refuse edits on closed grants
    assert _ids(client_for("anonymous").get(URL, {"instrument": "workshop"})) == []


@pytest.mark.parametrize(
    "params",
    [
        {"sector": "99999"},
        {"country": "XXX"},
        {"region": "MARS"},
        {"outcome": "world_peace"},
        {"instrument": "telepathy"},
        {"grant": "1.5"},
        {"grant": "-3"},
        {"search": "x" * 201},
    ],
)
def test_invalid_filter_values_are_400(client_for, params):
    response = client_for("anonymous").get(URL, params)
    assert response.status_code == 400, response.content
    assert set(response.json()) == set(params)


# --- Query counts ------------------------------------------------------------------------------


def _stories(fund_manager, grant, count):
    for i in range(count):
        make_story(fund_manager, grant, title=f"Story {i}", published=True)


# page (grant joined) with the count (COUNT(*) OVER ()), relations (sectors, countries
# and outcomes in one); + the user's roles. The detail: the story, its relations; + the
# roles.
LIST_QUERIES = {"anonymous": 2, "fund_manager": 3}
DETAIL_QUERIES = {"anonymous": 2, "fund_manager": 3}


@pytest.mark.parametrize("role", ["anonymous", "fund_manager"])
@pytest.mark.parametrize("count", [3, 30])
def test_the_list_runs_a_fixed_number_of_queries(
    fresh_client, role, count, fund_manager, closed_grant, django_assert_num_queries
):
    _stories(fund_manager, closed_grant, count)
    client = fresh_client(role)
    with django_assert_num_queries(LIST_QUERIES[role]):
        response = client.get(URL, {"page_size": 100})
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [3, 30])
def test_filtered_and_searched_lists_run_a_fixed_number_of_queries(
    fresh_client, count, funded, leader, fund_manager, django_assert_num_queries
):
    grant = finished_grant(leader, fund_manager, instruments=["workshop"])
    _stories(fund_manager, grant, count)
    params = {
        "search": "story",
        "sector": "16010",
        "country": "HND",
        "region": "LCR",
        "outcome": "raised_awareness",
        "instrument": "workshop",
        "grant": grant.id,
        "page_size": 100,
    }
    client = fresh_client("anonymous")
    # One more query each to check the sector and the country code.
    with django_assert_num_queries(LIST_QUERIES["anonymous"] + 2):
        response = client.get(URL, params)
    assert response.json()["count"] == count


@pytest.mark.parametrize("role", ["anonymous", "fund_manager"])
def test_the_detail_runs_a_fixed_number_of_queries(
    fresh_client, role, published, django_assert_num_queries
):
    client = fresh_client(role)
    with django_assert_num_queries(DETAIL_QUERIES[role]):
        response = client.get(f"{URL}{published.id}/")
    assert response.status_code == 200
