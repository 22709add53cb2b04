"""Text search of stories and lessons: PostgreSQL full-text search (ranked, stemmed,
indexed) and the SQLite fallback (every word, title matches first)."""

import pytest
from django.db import connection

from results import services as result_services
from results.models import ResultsStory

from .factories import finished_grant, make_story, review_lessons

pytestmark = pytest.mark.django_db

STORIES = "/api/v1/results-stories/"
LESSONS = "/api/v1/lessons/"


def _titles(response):
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


@pytest.fixture
def irrigation(fund_manager, closed_grant):
    """Published oldest first, so that the default order (newest first) is the reverse
    of the ranking the search must give."""
    in_title = make_story(
        fund_manager,
        closed_grant,
        title="Irrigation pays off",
        body="Farmers share water schedules.",
        published=True,
    )
    in_body = make_story(
        fund_manager,
        closed_grant,
        title="Farmers in the valley",
        body="Ministers spoke about many things, irrigation among them, and roads.",
        published=True,
    )
    make_story(fund_manager, closed_grant, title="Unrelated", body="Schools.", published=True)
    return in_title, in_body


def test_search_finds_words_in_the_title_and_the_body(anon, irrigation):
    assert _titles(anon.get(STORIES, {"search": "irrigation"})) == [
        "Irrigation pays off",
        "Farmers in the valley",
    ]
    assert _titles(anon.get(STORIES, {"search": "roads"})) == ["Farmers in the valley"]
    assert _titles(anon.get(STORIES, {"search": "farmers water"})) == ["Irrigation pays off"]
    assert _titles(anon.get(STORIES, {"search": "bridges"})) == []


def test_search_never_shows_drafts_to_readers(anon, fund_manager, closed_grant):
    make_story(fund_manager, closed_grant, title="Secret irrigation draft", body="Irrigation.")
    assert _titles(anon.get(STORIES, {"search": "irrigation"})) == []


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_title_match_ranks_above_a_single_body_match(anon, irrigation):
    in_title, in_body = irrigation
    assert in_body.published_at > in_title.published_at
    # Without search, newest first; with it, best first.
    assert _titles(anon.get(STORIES))[:2] == ["Unrelated", "Farmers in the valley"]
    assert _titles(anon.get(STORIES, {"search": "irrigation"})) == [
        "Irrigation pays off",
        "Farmers in the valley",
    ]


@pytest.mark.postgres
def test_full_text_search_stems_and_speaks_web_search(anon, irrigation):
    assert _titles(anon.get(STORIES, {"search": "irrigating farmer"})) == [
        "Irrigation pays off",
        "Farmers in the valley",
    ]
    assert _titles(anon.get(STORIES, {"search": "irrigation -roads"})) == ["Irrigation pays off"]
    assert _titles(anon.get(STORIES, {"search": '"water schedules"'})) == ["Irrigation pays off"]
    assert _titles(anon.get(STORIES, {"search": "bridges or roads"})) == ["Farmers in the valley"]
    # Stop words alone and stray syntax match nothing, without an error.
    assert _titles(anon.get(STORIES, {"search": "the"})) == []
    assert anon.get(STORIES, {"search": '"& | ! ( ) :* \\'}).status_code == 200


@pytest.mark.postgres
def test_the_stored_vector_follows_every_write(anon, fund_manager, closed_grant):
    story = make_story(
        fund_manager, closed_grant, title="Livestock", body="Cattle.", published=True
    )
    assert ResultsStory.objects.get(pk=story.pk).search_vector is not None
    assert _titles(anon.get(STORIES, {"search": "cattle"})) == ["Livestock"]
    result_services.story_update(story=story, user=fund_manager, title="Fisheries", body="Boats.")
    assert _titles(anon.get(STORIES, {"search": "cattle"})) == []
    assert _titles(anon.get(STORIES, {"search": "boats"})) == ["Fisheries"]


@pytest.mark.postgres
def test_lessons_are_ranked_best_first(client_for, funded, leader, fund_manager, donor):
    finished_grant(
        leader,
        fund_manager,
        title="Once",
        lessons="Ministers visited. Officials met peers at one meeting, then went home.",
    )
    finished_grant(
        leader,
        fund_manager,
        title="Often",
        lessons="Peers taught peers; peer review by peers kept the reform going.",
    )
    review_lessons(fund_manager)
    response = client_for(donor).get(LESSONS, {"search": "peer"})
    assert _titles(response) == ["Often", "Once"]
    assert _titles(client_for(donor).get(LESSONS)) == ["Often", "Once"]
    assert _titles(client_for(donor).get(LESSONS, {"search": "minister -reform"})) == ["Once"]


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_the_searches_can_use_their_gin_indexes(fund_manager, closed_grant):
    """With sequential scans discouraged, the planner picks each GIN index: the story
    vector's, and the lessons' expression index, which must match the expression the
    selector writes."""
    from results import selectors
    from results.models import Lesson

    story_search = selectors.search_stories(ResultsStory.objects.all(), "irrigation")
    sql, params = story_search.query.sql_with_params()
    assert "results_story_search_gin" in _plan(sql, params)

    lesson_search = selectors.search_lessons(Lesson.objects.all(), "peer")
    sql, params = lesson_search.query.sql_with_params()
    assert "results_lesson_fts" in _plan(sql, params)
