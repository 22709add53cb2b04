"""The knowledge hub's fast path gives exactly what the serializer gave: results stories
read as rows (``results.api.stories.STORY_ROWS``) against model instances walked by
``ResultsStorySerializer``. (Lessons are read by their serializer: ``Lesson`` rows, whose
queries are pinned in tests/perf/test_lesson_queries.py.)

Over a generated portfolio and stories written to cover what it lacks: drafts, a story
unpublished again, stories with no relations and with many (countries whose order by
name is not their order by code), published at the same instant (ties by id), read by
every kind of reader, with and without search and filters, page after page, and in a
time zone other than UTC. Each response is compared, byte for byte, with the one the
committed read path (DRF's list and retrieve: ``get_queryset``, prefetches, the
serializer) gives for the same request.
"""

import json
import re

import pytest
from django.utils import timezone
from rest_framework import mixins

from grants.models import Grant, GrantStatus
from results import selectors
from results.api.stories import (
    STORY_ROWS,
    ResultsStorySerializer,
    ResultsStoryViewSet,
)
from results.models import ResultsStory
from results.services import story_unpublish
from tests.conftest import api_client, read_afresh
from tests.perf.fastpaths import Committed
from tests.results.factories import make_story

pytestmark = pytest.mark.django_db

STORIES = "/api/v1/results-stories/"


# The read path as it was committed: DRF's own list and retrieve.
COMMITTED = Committed(
    (ResultsStoryViewSet, "list", mixins.ListModelMixin.list),
    (ResultsStoryViewSet, "retrieve", mixins.RetrieveModelMixin.retrieve),
)
assert_same, assert_same_pages = COMMITTED.same, COMMITTED.same_pages


@pytest.fixture
def hub(portfolio, role_users):
    """A generated portfolio's stories, and stories that vary what it does
    not: relations, drafts, ties, words to search for."""
    portfolio(200)
    users = role_users()
    manager = users["fund_manager"]
    grants = list(Grant.objects.filter(status=GrantStatus.CLOSED).order_by("pk")[:4])
    made = [
        # Countries given neither by code nor by name; every outcome, shuffled.
        make_story(
            manager,
            grants[0],
            title="Water reform in five countries",
            body="Utilities **shared** what their water reform taught them.",
            sectors=["31120", "14020", "16010"],
            countries=["TZA", "KEN", "CHE", "DEU", "HND"],
            outcomes=[
                "strengthened_coalitions",
                "raised_awareness",
                "increased_implementation_knowhow",
                "enhanced_networks",
                "improved_consensus_and_teamwork",
                "enhanced_knowledge_and_skills",
            ],
            published=True,
        ),
        # No relations at all.
        make_story(
            manager,
            grants[1],
            title="Reform without borders",
            body="Nothing tagged: water, reform.",
            sectors=[],
            countries=[],
            outcomes=[],
            published=True,
        ),
        # Relations from the grant (left out), a draft.
        make_story(manager, grants[2], title="Draft about water", body="Not yet — ça vient."),
        make_story(manager, grants[3], title="Another draft", body="Reform.", sectors=[]),
    ]
    for i in range(6):
        made.append(
            make_story(
                manager,
                grants[i % 4],
                title=f"Peer learning {i}" + (" on water" if i % 2 else ""),
                body=f"Officials learned about reform, step {i}.\n\n- a\n- b",
                countries=["IND", "BGD"][: i % 3],
                published=True,
            )
        )
    # Published at the same instant: ordered by id, on every page.
    ResultsStory.objects.filter(pk__in=[s.pk for s in made[4:8]]).update(
        published_at=made[4].published_at
    )
    # Published, then taken back to draft.
    story_unpublish(story=made[9], user=manager)
    return users


def _clients(users):
    """An anonymous client, and one for each user read afresh as a request's would be."""
    return {
        "anonymous": api_client(),
        **{role: api_client(read_afresh(user)) for role, user in users.items()},
    }


def _generated_word() -> str:
    """A word of a generated story's title, to search the generated stories too."""
    title = ResultsStory.objects.exclude(title__icontains="water").order_by("pk").first().title
    return max(re.findall(r"[A-Za-z]+", title), key=len)


def test_the_story_list_gives_what_the_serializer_gives(hub):
    word = _generated_word()
    queries = [
        "",
        "?search=water",
        "?search=reform",
        "?search=water%20reform",
        "?search=%22water%20reform%22",
        "?search=water%20-draft",
        f"?search={word}",
        "?search=nowhere-to-be-found",
        "?search=",
        "?published=false",
        "?published=true&search=water",
        "?country=KEN",
        "?sector=16010&search=reform",
        "?region=AFR",
        "?outcome=raised_awareness",
    ]
    for client in _clients(hub).values():
        for query in queries:
            separator = "&" if query else "?"
            assert_same_pages(client, f"{STORIES}{query}{separator}page_size=3")
        assert_same(client, f"{STORIES}?page=2&page_size=4")
        assert_same(client, f"{STORIES}?page=999")  # a 404, alike
        assert_same(client, f"{STORIES}?country=XXX")  # a 400, alike
    # Drafts are there to be seen, and relations of every kind.
    body = assert_same(_clients(hub)["fund_manager"], f"{STORIES}?page_size=500")
    assert {row["published"] for row in body["results"]} == {True, False}
    assert any(not row["countries"] and not row["sectors"] for row in body["results"])
    assert any(row["countries"] == ["DEU", "HND", "KEN", "CHE", "TZA"] for row in body["results"])


def test_the_story_detail_gives_what_the_serializer_gives(hub):
    ids = list(ResultsStory.objects.order_by("pk").values_list("pk", flat=True))
    for client in _clients(hub).values():
        for pk in ids:
            assert_same(client, f"{STORIES}{pk}/")
            assert_same(client, f"{STORIES}{pk}/?published=false")
            assert_same(client, f"{STORIES}{pk}/?search=water")
        for missing in ("0", "abc", "99999999999999999999999", str(ids[-1] + 1)):
            assert_same(client, f"{STORIES}{missing}/")


def test_stories_in_another_time_zone(hub):
    client = _clients(hub)["fund_manager"]
    with timezone.override("Asia/Kolkata"):
        body = assert_same(client, f"{STORIES}?page_size=500&search=water")
    assert any(row["published_at"].endswith("+05:30") for row in body["results"])


def test_story_rows_are_what_the_serializer_gives_every_story(hub):
    stories = ResultsStory.objects.order_by(*selectors.STORY_ORDER)
    expected = [
        ResultsStorySerializer(story).data for story in selectors.with_story_relations(stories)
    ]
    got = STORY_ROWS.represent(STORY_ROWS.read(stories))
    assert json.dumps(got) == json.dumps(expected)
    assert len(got) == ResultsStory.objects.count() > 10
