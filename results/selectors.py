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

from grants.models import Grant
from grants.selectors import grants_visible_to
from partners.models import Country, Sector

from .models import OUTCOME_FIELDS, CompletionReport, ResultsStory
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


# --- Stories read as rows ---------------------------------------------------------------

# The columns a story shows (ResultsStorySerializer's fields but the relations).
STORY_ROW_COLUMNS = (
    "id",
    "slug",
    "grant_id",
    "grant__reference",
    "title",
    "body",
    "body_html",
    "published",
    "published_at",
)
STORY_RELATIONS = ("sectors", "countries", "outcomes")


def _story_relations_sql(count: int) -> str:
    """One statement for the three relations of ``count`` stories: (story id, relation,
    code, sort key). The sort key is what the prefetches of ``with_story_relations``
    order by, their models' orderings: a sector's and an outcome's code, a country's
    name (then its code, should two names tie)."""
    q = connection.ops.quote_name
    marks = ", ".join(["%s"] * count)
    parts = []
    for kind, name in enumerate(STORY_RELATIONS):
        field = ResultsStory._meta.get_field(name)
        through = q(field.remote_field.through._meta.db_table)
        story, code = f"r.{q(field.m2m_column_name())}", f"r.{q(field.m2m_reverse_name())}"
        if name == "countries":
            sort_key = f"t.{q('name')}"
            join = f" JOIN {q(Country._meta.db_table)} t ON t.{q('code')} = {code}"
        else:
            sort_key, join = code, ""
        parts.append(
            f"SELECT {story}, {kind}, {code}, {sort_key} FROM {through} r{join} "
            f"WHERE {story} IN ({marks})"
        )
    return " UNION ALL ".join(parts) + " ORDER BY 4, 3"


def story_relations(story_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """The sectors (DAC codes), countries (ISO3 codes) and outcomes (codes) of these
    stories, in one query whatever their number, each list in the order the story
    serializer has always given it. Written as SQL, as ``grants.selectors.
    grant_relations`` is: a union of three querysets cost more to compose than to run."""
    related = {pk: {name: [] for name in STORY_RELATIONS} for pk in story_ids}
    if not story_ids:
        return related
    with connection.cursor() as cursor:
        cursor.execute(_story_relations_sql(len(story_ids)), list(story_ids) * 3)
        for story_id, kind, code, _sort_key in cursor.fetchall():
            related[story_id][STORY_RELATIONS[kind]].append(code)
    return related


def story_rows(stories) -> list[dict]:
    """The stories of ``stories`` (filtered, ordered, sliced as the caller wants) as
    plain rows with their grant's reference and their relations: two queries, and no
    model instances. Building a story instance, its three prefetched managers and their
    related instances, then walking them with the serializer, cost the knowledge hub
    several times what its queries did."""
    rows = list(stories.values(*STORY_ROW_COLUMNS))
    related = story_relations([row["id"] for row in rows])
    for row in rows:
        row.update(related[row["id"]])
    return rows


def lessons_visible_to(user):
    """The knowledge hub: the lessons of accepted completion reports of grants this user
    may see. Reports with no lessons written are left out."""
    return CompletionReport.objects.filter(
        accepted_at__isnull=False, grant__in=grants_visible_to(user)
    ).exclude(lessons="")


def completion_reports_visible_to(user):
    """The completion reports of the grants this user may see: where the API starts a
    report's lookup. Whether the user may read that report is then the object rule
    ``results.permissions.can_see_report``, which also decides for a grant that has no
    report yet."""
    return CompletionReport.objects.filter(grant__in=grants_visible_to(user))


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


# --- Lessons read as rows ---------------------------------------------------------------

# The columns a lesson shows (LessonSerializer's fields but the countries).
LESSON_ROW_COLUMNS = (
    "grant_id",
    "grant__reference",
    "grant__title",
    "grant__sector_id",
    "grant__region",
    *OUTCOME_FIELDS,
    "lessons",
    "follow_up_needed",
    "follow_up_description",
    "accepted_at",
)


def lesson_countries(grant_ids: list[int]) -> dict[int, list[str]]:
    """The recipient countries (ISO3 codes) of these grants, in one query, by name as
    the prefetch of ``with_lesson_relations`` gives them (then by code, should two
    names tie)."""
    countries = {pk: [] for pk in grant_ids}
    if not grant_ids:
        return countries
    pairs = (
        Grant.recipient_countries.through.objects.filter(grant_id__in=grant_ids)
        .order_by("country__name", "country_id")
        .values_list("grant_id", "country_id")
    )
    for grant_id, code in pairs:
        countries[grant_id].append(code)
    return countries


def lesson_rows(reports) -> list[dict]:
    """The lessons of ``reports`` (filtered, ordered, sliced as the caller wants) as
    plain rows with their grant's facts and recipient countries: two queries, no model
    instances, and only the columns shown (not every column of the report and of its
    grant, as ``select_related`` reads)."""
    rows = list(reports.values(*LESSON_ROW_COLUMNS))
    countries = lesson_countries([row["grant_id"] for row in rows])
    for row in rows:
        row["countries"] = countries[row["grant_id"]]
    return rows
