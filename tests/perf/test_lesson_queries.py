"""The lessons list (`/api/v1/lessons/`) and the knowledge hub page, which reads reviewed
lessons, run the same number of queries at 20 and at 200 grants of a generated
portfolio, whatever the reader and the filters (evidence level, sector, search).

The generated portfolio writes completion reports, not lessons: its reports' lessons
become ``Lesson`` rows by migration 0006's own function, as an existing database's did,
and a few are given other evidence levels and left waiting for review."""

import importlib
import re

import pytest
from django.apps import apps as global_apps

from results.models import EvidenceLevel, Lesson, LessonReview
from tests.flowfacts import flow_facts_refreshed, map_queries
from tests.perf.test_query_counts import SIZES

pytestmark = pytest.mark.django_db

# (reader, url, queries, what the queries are). Counted with force_authenticate (no
# session or token query); anonymous readers have no roles to read.
LISTS = [
    ("anonymous", "/api/v1/lessons/", 4, "count; page with grants; countries; outcomes"),
    ("donor", "/api/v1/lessons/", 5, "roles; count; page with grants; countries; outcomes"),
    ("fund_manager", "/api/v1/lessons/?review_status=pending", 5, "the same"),
    (
        "anonymous",
        "/api/v1/lessons/?evidence_level=participant_feedback&page_size=5",
        4,
        "count; page; countries; outcomes",
    ),
    (
        "anonymous",
        "/api/v1/lessons/?sector={sector}&evidence_level=self_reported",
        5,
        "+ the sector code",
    ),
    ("anonymous", "/api/v1/lessons/?search={word}&page_size=3", 4, "count; page; relations"),
]


# The hub page, anonymous: its stories and map (tests/web/test_query_counts.py: 12 with
# the map's five on SQLite: tests/flowfacts.py) and the lessons' count, page, countries
# and outcomes.
def hub_queries() -> int:
    return 11 + map_queries()


def _lessons():
    migration = importlib.import_module("results.migrations.0007_lessons_and_feedback")
    migration.reports_to_lessons(global_apps, None)
    lessons = list(Lesson.objects.filter(review_status=LessonReview.APPROVED).order_by("pk"))
    assert len(lessons) >= 3
    Lesson.objects.filter(pk__in=[lesson.pk for lesson in lessons[::3]]).update(
        evidence_level=EvidenceLevel.PARTICIPANT_FEEDBACK
    )
    Lesson.objects.filter(pk__in=[lesson.pk for lesson in lessons[1::7]]).update(
        review_status=LessonReview.PENDING, reviewed_at=None
    )
    kept = lessons[2]  # a self-reported lesson, left reviewed
    word = max(re.findall(r"[A-Za-z]+", kept.what_worked), key=len)
    return {"sector": kept.grant.sector_id, "word": word}


@pytest.mark.parametrize("n", SIZES)
def test_the_lessons_list_runs_the_same_queries_at_any_size(
    fresh_client, n, portfolio, role_users, django_assert_num_queries
):
    portfolio(n)
    users = {**role_users(), "anonymous": None}
    found = _lessons()
    for role, url, queries, _what in LISTS:
        client = fresh_client(users[role])
        with django_assert_num_queries(queries, info=url):
            response = client.get(url.format(**found))
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        assert body["results"], url
        if role != "fund_manager":
            assert {row["review_status"] for row in body["results"]} <= {"approved"}


@pytest.mark.parametrize("n", SIZES)
def test_the_hub_page_runs_the_same_queries_at_any_size(
    web, n, portfolio, django_assert_num_queries
):
    portfolio(n)
    _lessons()
    flow_facts_refreshed()
    client = web(None)
    for url in ("/hub/", "/hub/?evidence_level=participant_feedback"):
        with django_assert_num_queries(hub_queries(), info=url):
            response = client.get(url)
        assert response.status_code == 200
        assert 0 < response.content.count(b'data-testid="lesson-card"') <= 10
