"""Reads for results stories and the knowledge hub's lessons: scoping and text search.

Visibility is decided here, once: every list, detail and action starts from
``stories_visible_to`` or ``lessons_visible_to``.

Text search is PostgreSQL full-text search where the database is PostgreSQL (English
stemming, ``websearch`` syntax: quoted phrases, ``or``, ``-word``; results ranked,
best first) and a case-insensitive match of every word on SQLite, the development
database, where title matches come first.
"""

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, F, IntegerField, Prefetch, Q, Value, When

from grants.selectors import grants_visible_to
from partners.models import Country, Sector

from .models import CompletionReport, ResultsStory
from .stories import can_see_story_drafts

SEARCH_CONFIG = "english"
STORY_ORDER = (F("published_at").desc(nulls_last=True), "-id")
LESSON_ORDER = ("-accepted_at", "-id")


def _uses_full_text_search() -> bool:
    return connection.vendor == "postgresql"


def _search_query(text: str) -> SearchQuery:
    return SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)


def stories_visible_to(user):
    """Fund managers see every story; everyone else, anonymous users included, sees
    published stories only."""
    stories = ResultsStory.objects.all()
    if not can_see_story_drafts(user):
        stories = stories.filter(published=True)
    return stories


def with_story_relations(stories):
    """What the story serializer reads, in a fixed number of queries: the grant joined,
    then one query each for sectors, countries and outcomes."""
    return (
        stories.select_related("grant")
        .defer("search_vector")
        .prefetch_related(
            Prefetch("sectors", queryset=Sector.objects.only("code")),
            Prefetch("countries", queryset=Country.objects.only("code")),
            "outcomes",
        )
        .order_by(*STORY_ORDER)
    )


def search_stories(stories, text: str):
    """Stories matching ``text`` in their title or body, best first."""
    if _uses_full_text_search():
        query = _search_query(text)
        return (
            stories.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", *STORY_ORDER)
        )
    words = text.split()
    if not words:
        return stories
    matches = stories
    title_hits = Q()
    for word in words:
        matches = matches.filter(Q(title__icontains=word) | Q(body__icontains=word))
        title_hits &= Q(title__icontains=word)
    return matches.annotate(
        title_match=Case(
            When(title_hits, then=Value(1)), default=Value(0), output_field=IntegerField()
        )
    ).order_by("-title_match", *STORY_ORDER)


def lessons_visible_to(user):
    """The knowledge hub: the lessons of accepted completion reports of grants this user
    may see. Reports with no lessons written are left out."""
    return CompletionReport.objects.filter(
        accepted_at__isnull=False, grant__in=grants_visible_to(user)
    ).exclude(lessons="")


def with_lesson_relations(reports):
    """The report with its grant joined, and one query for the recipient countries."""
    return (
        reports.select_related("grant")
        .prefetch_related(
            Prefetch("grant__recipient_countries", queryset=Country.objects.only("code"))
        )
        .order_by(*LESSON_ORDER)
    )


def search_lessons(reports, text: str):
    """Reports whose lessons match ``text``, best first. On PostgreSQL the vector is
    computed from the column by the same expression as the GIN index of migration 0003,
    so the index serves the match."""
    if _uses_full_text_search():
        query = _search_query(text)
        return (
            reports.alias(lessons_vector=SearchVector("lessons", config=SEARCH_CONFIG))
            .filter(lessons_vector=query)
            .annotate(rank=SearchRank(F("lessons_vector"), query))
            .order_by("-rank", *LESSON_ORDER)
        )
    for word in text.split():
        reports = reports.filter(lessons__icontains=word)
    return reports
