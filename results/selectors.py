"""Reads for results that are more than a filter: scoping and text search of results
stories and the knowledge hub's lessons, and the reports and dashboards over results
(Annex D, the follow-up pipeline, the donor view).

Visibility is decided here, once: every list, detail and action starts from
``stories_visible_to`` or ``lessons_visible_to``, and every report from
``reported_grants_visible_to``.

Text search is PostgreSQL full-text search where the database is PostgreSQL (English
stemming, ``websearch`` syntax: quoted phrases, ``or``, ``-word``; results ranked,
best first) and a case-insensitive match of every word on SQLite, the development
database, where title matches come first.

Each report runs a fixed, small number of queries whatever the size of the portfolio,
and aggregates in the database.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from grants.models import (
    APPROVED_AND_LATER,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantPartnerRole,
    GrantStatus,
    PartnerRole,
)
from grants.selectors import fund_summary, grants_visible_to, visibility_key
from partners.models import Contribution, Country, Partner, Sector, Window
from partners.roles import Role, donor_partner_id, is_fund_manager, user_roles
from seetf.common.datacache import cached
from seetf.common.money import CENT, MONEY, ZERO, to_cents

from .models import (
    EX_POST_RESULTS,
    OUTCOME_FIELDS,
    CompletionReport,
    ExPostCheck,
    FeedbackAnswer,
    FeedbackLink,
    FollowUpNeed,
    FollowUpStatus,
    Lesson,
    LessonReview,
    ResultsStory,
)
from .permissions import can_see_story_drafts, can_see_unreviewed_lessons

SEARCH_CONFIG = "english"
STORY_ORDER = (F("published_at").desc(nulls_last=True), "-id")
LESSON_ORDER = (F("reviewed_at").desc(nulls_last=True), "-id")


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


def stories_with_names(stories):
    """Stories with their grant, sectors, countries and outcomes, names included (the
    pages show names, where the API's serializer needs only codes), and
    ``exchanged_on``: the day the story's exchange ended (the last held exchange of its
    grant, else the grant's planned end), by which the pages date a story: what a
    reader wants is when it happened, not when the story was loaded or published.
    A subquery of the same query: no query more."""
    last_held = (
        Exchange.objects.filter(grant_id=OuterRef("grant_id"), status=ExchangeStatus.HELD)
        .order_by("-end_date")
        .values("end_date")[:1]
    )
    return (
        stories.select_related("grant")
        .defer("search_vector")
        .annotate(exchanged_on=Coalesce(Subquery(last_held), F("grant__planned_end")))
        .prefetch_related("sectors", "countries", "outcomes")
    )


def story_countries():
    """The countries some published story is about: the knowledge hub's country filter
    offers these, not the 249 of the reference data (most with no story). One query
    (a semi-join, no DISTINCT)."""
    told = ResultsStory.countries.through.objects.filter(
        country_id=OuterRef("pk"), resultsstory__published=True
    )
    return Country.objects.filter(Exists(told)).order_by("name")


def published_stories(user, count: int) -> list:
    """The ``count`` latest published stories, with names, for the pages that show a
    few (the public home page, the donor dashboard)."""
    stories = stories_visible_to(user).filter(published=True)
    return list(stories_with_names(stories)[:count])


def latest_stories(user, count: int = 3) -> list:
    """The public home page's stories."""
    return published_stories(user, count)


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


def reviewed_lessons():
    """The lessons a fund manager has reviewed and let through: the public hub's."""
    return Lesson.objects.filter(review_status=LessonReview.APPROVED)


def lessons_visible_to(user):
    """The knowledge hub's lessons: anyone, anonymous users included, reads reviewed
    lessons; a leader also the unreviewed lessons of their own grants; fund managers
    every lesson (they review them)."""
    if can_see_unreviewed_lessons(user):
        return Lesson.objects.all()
    visible = Q(review_status=LessonReview.APPROVED)
    if user and user.is_authenticated:
        visible |= Q(grant__task_team_leader=user)
    return Lesson.objects.filter(visible)


def completion_reports_visible_to(user):
    """The completion reports of the grants this user may see: where the API starts a
    report's lookup. Whether the user may read that report is then the object rule
    ``results.permissions.can_see_report``, which also decides for a grant that has no
    report yet."""
    return CompletionReport.objects.filter(grant__in=grants_visible_to(user))


def with_lesson_relations(lessons):
    """Lessons with their grant joined, then one query each for the grants' recipient
    countries and the lessons' outcomes: a fixed number of queries whatever the page."""
    return (
        lessons.select_related("grant")
        .prefetch_related(
            Prefetch("grant__recipient_countries", queryset=Country.objects.only("code")),
            "outcomes",
        )
        .order_by(*LESSON_ORDER)
    )


LESSON_TEXT = ("what_worked", "what_did_not", "why")


def search_lessons(lessons, text: str):
    """Lessons whose text (what worked, what did not, why) matches ``text``, best first.
    On PostgreSQL the vector is computed by the same expression as the GIN index of
    migration 0006, so the index serves the match."""
    if _uses_full_text_search():
        query = _search_query(text)
        return (
            lessons.alias(lesson_vector=SearchVector(*LESSON_TEXT, config=SEARCH_CONFIG))
            .filter(lesson_vector=query)
            .annotate(rank=SearchRank(F("lesson_vector"), query))
            .order_by("-rank", *LESSON_ORDER)
        )
    for word in text.split():
        lessons = lessons.filter(
            Q(what_worked__icontains=word)
            | Q(what_did_not__icontains=word)
            | Q(why__icontains=word)
        )
    return lessons


# --- Participant feedback ------------------------------------------------------------

# An answer of 4 or 5 to "will you apply what you learned?" counts as intending to.
INTENDS_TO_APPLY = 4


def feedback_links_visible_to(user):
    """The feedback links of the exchanges of the grants this user may see (the API's
    rule then admits fund managers and the grant's leader only)."""
    return FeedbackLink.objects.filter(exchange__grant__in=grants_visible_to(user))


def _feedback_aggregates(answers) -> dict:
    return answers.aggregate(
        answers=Count("pk"),
        relevance_avg=Avg("relevance"),
        usefulness_avg=Avg("usefulness"),
        intention_avg=Avg("intention"),
        intending=Count("pk", filter=Q(intention__gte=INTENDS_TO_APPLY)),
    )


def _feedback_summary(row: dict) -> dict:
    """Counts and means as the API and the pages show them: means to two places, the
    share intending to apply as a fraction (None when no one answered)."""
    count = row["answers"] or 0

    def mean(name):
        value = row[f"{name}_avg"]
        return None if value is None else round(float(value), 2)

    return {
        "answers": count,
        "relevance_mean": mean("relevance"),
        "usefulness_mean": mean("usefulness"),
        "intention_mean": mean("intention"),
        "share_intending_to_apply": round(row["intending"] / count, 2) if count else None,
    }


def empty_feedback() -> dict:
    """The aggregates of an exchange no one has answered about."""
    return _feedback_summary(
        {
            "answers": 0,
            "relevance_avg": None,
            "usefulness_avg": None,
            "intention_avg": None,
            "intending": 0,
        }
    )


def exchange_feedback(exchange) -> dict:
    """One exchange's feedback aggregates (one query)."""
    return _feedback_summary(_feedback_aggregates(FeedbackAnswer.objects.filter(exchange=exchange)))


def grant_feedback(grant) -> dict:
    """A grant's feedback: the aggregates per exchange, and over all its exchanges from
    those (one query, grouped in the database, whatever the number of answers: the
    ratings are never empty, so a mean over all is the sums over the answers)."""
    rows = list(
        FeedbackAnswer.objects.filter(exchange__grant=grant)
        .order_by()
        .values("exchange_id")
        .annotate(
            answers=Count("pk"),
            relevance_avg=Avg("relevance"),
            usefulness_avg=Avg("usefulness"),
            intention_avg=Avg("intention"),
            intending=Count("pk", filter=Q(intention__gte=INTENDS_TO_APPLY)),
            relevance_sum=Sum("relevance"),
            usefulness_sum=Sum("usefulness"),
            intention_sum=Sum("intention"),
        )
    )
    answers = sum(row["answers"] for row in rows)
    total = {"answers": answers, "intending": sum(row["intending"] for row in rows)}
    for name in ("relevance", "usefulness", "intention"):
        total[f"{name}_avg"] = (
            Decimal(sum(row[f"{name}_sum"] for row in rows)) / answers if answers else None
        )
    return {
        "total": _feedback_summary(total),
        "by_exchange": {row["exchange_id"]: _feedback_summary(row) for row in rows},
    }


# --- Reports and dashboards ------------------------------------------------------------

REPORTED_STATUSES = (GrantStatus.COMPLETED, GrantStatus.CLOSED)


def reported_grants_visible_to(user, grants=None):
    """Completed and closed grants whose completion report this user may read: fund
    managers all; others accepted reports (and a leader their own)."""
    grants = grants_visible_to(user) if grants is None else grants
    grants = grants.filter(status__in=REPORTED_STATUSES, completion_report__isnull=False)
    if not is_fund_manager(user):
        grants = grants.filter(
            Q(completion_report__accepted_at__isnull=False) | Q(task_team_leader=user)
        )
    return grants


def capacity_outcomes_report(*, user, grants=None) -> dict:
    """Annex D: a row per completed or closed grant with a boolean per capacity outcome;
    totals count the grants achieving each outcome. One query: the totals are counted
    over the very rows returned, so they always agree with them. The whole report (no
    ``grants`` given) is cached until the data changes (``seetf.common.datacache``)."""
    if grants is None:
        return cached(
            ("capacity-outcomes-report", visibility_key(user)),
            lambda: _capacity_outcomes_report(user=user, grants=None),
        )
    return _capacity_outcomes_report(user=user, grants=grants)


def _capacity_outcomes_report(*, user, grants) -> dict:
    grants = reported_grants_visible_to(user, grants)
    keys = ("grant", "reference", "title", *OUTCOME_FIELDS)
    # Tuples zipped with the keys: at thousands of rows, the cheapest way to the dicts.
    rows = [
        dict(zip(keys, values, strict=True))
        for values in grants.order_by("reference", "id").values_list(
            "id", "reference", "title", *(f"completion_report__{name}" for name in OUTCOME_FIELDS)
        )
    ]
    totals = {"grants": len(rows)}
    for name in OUTCOME_FIELDS:
        totals[name] = sum(1 for row in rows if row[name])
    return {"rows": rows, "totals": totals}


def _outcome_totals(grants) -> dict:
    """How many of these grants achieved each outcome (one query)."""
    return grants.aggregate(
        grants=Count("pk"),
        **{
            name: Count("pk", filter=Q(**{f"completion_report__{name}": True}))
            for name in OUTCOME_FIELDS
        },
    )


def follow_up_report(*, user, grants=None) -> dict:
    """Box 3 of the review: benefits faded where no one financed the follow-up. Completed
    and closed grants whose report says follow-up is needed, with what is needed. The
    whole report (no ``grants`` given) is cached until the data changes."""
    if grants is None:
        return cached(
            ("follow-up-report", visibility_key(user)),
            lambda: _follow_up_report(user=user, grants=None),
        )
    return _follow_up_report(user=user, grants=grants)


def _follow_up_report(*, user, grants) -> dict:
    grants = reported_grants_visible_to(user, grants).filter(
        completion_report__follow_up_needed=True
    )
    rows = list(
        grants.order_by("reference", "id").values(
            "id",
            "reference",
            "title",
            "status",
            "region",
            "sector_id",
            "approved_usd",
            "completion_report__follow_up_description",
            "completion_report__rating",
            "completion_report__accepted_at",
        )
    )
    rows = [
        {
            "grant": r["id"],
            "reference": r["reference"],
            "title": r["title"],
            "status": r["status"],
            "region": r["region"],
            "sector": r["sector_id"],
            "approved_usd": r["approved_usd"],
            "rating": r["completion_report__rating"],
            "follow_up_description": r["completion_report__follow_up_description"],
            "accepted_at": r["completion_report__accepted_at"],
        }
        for r in rows
    ]
    totals = grants.aggregate(
        grants=Count("pk"),
        approved_usd=Coalesce(Sum("approved_usd"), Value(ZERO), output_field=DecimalField(**MONEY)),
    )
    _add_needs(rows, totals, grants)
    return {"rows": rows, "totals": totals}


NEED_COLUMNS = ("needs", "open_needs", "financed_needs", "dropped_needs")
NEED_MONEY = ("estimated_usd", "leveraged_usd")


def _add_needs(rows: list[dict], totals: dict, grants) -> None:
    """The follow-up needs of the report's grants (one grouped query): how many, open,
    financed, dropped; their estimated cost; and the money leveraged, what other sources
    finance (``financed_elsewhere_usd``), per grant and in total."""
    money = DecimalField(**MONEY)
    grouped = {
        group["grant_id"]: group
        for group in FollowUpNeed.objects.filter(grant__in=grants.values("pk"))
        .order_by()
        .values("grant_id")
        .annotate(
            needs=Count("pk"),
            open_needs=Count("pk", filter=Q(status=FollowUpStatus.OPEN)),
            financed_needs=Count("pk", filter=Q(status=FollowUpStatus.FINANCED)),
            dropped_needs=Count("pk", filter=Q(status=FollowUpStatus.DROPPED)),
            estimated_usd=Coalesce(Sum("estimated_usd"), Value(ZERO), output_field=money),
            leveraged_usd=Coalesce(Sum("financed_elsewhere_usd"), Value(ZERO), output_field=money),
        )
    }
    empty = {**dict.fromkeys(NEED_COLUMNS, 0), **dict.fromkeys(NEED_MONEY, ZERO)}
    for name in (*NEED_COLUMNS, *NEED_MONEY):
        totals[name] = empty[name]
    for row in rows:
        group = grouped.get(row["grant"], empty)
        for name in (*NEED_COLUMNS, *NEED_MONEY):
            row[name] = group[name]
            totals[name] += group[name]


def follow_up_needs_visible_to(user):
    """The follow-up needs a user may read, as the reports they come from: fund managers
    all; a leader their own grants'; donors and other leaders those of accepted reports
    (``grants.permissions.can_see_report``)."""
    if not user or not user.is_authenticated:
        return FollowUpNeed.objects.none()
    needs = FollowUpNeed.objects.filter(grant__in=grants_visible_to(user))
    if is_fund_manager(user) or user.is_superuser:
        return needs
    condition = Q(grant__task_team_leader=user)
    if user_roles(user) & {Role.DONOR, Role.TASK_TEAM_LEADER}:
        condition |= Q(report__accepted_at__isnull=False)
    return needs.filter(condition)


def ex_post_checks_visible_to(user):
    """The ex-post checks of every grant the user may see: what lasted is the evidence
    the fund shows its donors."""
    return ExPostCheck.objects.filter(grant__in=grants_visible_to(user))


def sustained_results_report(*, user, grants=None, today=None) -> dict:
    """Of the grants closed a year ago or more (their 12-month check due), a row each:
    how many of its checks were filed, and whether any filed check shows each result;
    totals count the grants showing each. One query; the totals are counted over the
    very rows returned."""
    today = today or timezone.localdate()
    grants = grants_visible_to(user) if grants is None else grants
    year_on = ExPostCheck.objects.filter(months_after_close=12, due_on__lte=today)
    filed = Q(ex_post_checks__submitted_at__isnull=False)
    grants = grants.filter(status=GrantStatus.CLOSED, pk__in=year_on.values("grant_id"))
    keys = ("grant", "reference", "title", "closed_on", "checks_filed", *EX_POST_RESULTS)
    rows = [
        dict(zip(keys, values, strict=True))
        for values in grants.order_by("reference", "id")
        .annotate(
            closed_on=Max("ex_post_checks__closed_on"),
            checks_filed=Count("ex_post_checks", filter=filed),
            **{
                name: Count("ex_post_checks", filter=filed & Q(**{f"ex_post_checks__{name}": True}))
                for name in EX_POST_RESULTS
            },
        )
        .values_list("id", "reference", "title", "closed_on", "checks_filed", *EX_POST_RESULTS)
    ]
    for row in rows:
        for name in EX_POST_RESULTS:
            row[name] = row[name] > 0
    totals = {
        "grants": len(rows),
        "grants_checked": sum(1 for row in rows if row["checks_filed"]),
        **{name: sum(1 for row in rows if row[name]) for name in EX_POST_RESULTS},
    }
    return {"rows": rows, "totals": totals}


def _portfolio(grants) -> dict:
    """Grants and approved USD by region, by sector and by status: one grouped query
    (region, sector, status), rolled up three ways here, instead of three scans; then
    the names of the few sectors found. Grouped without joining the sectors, the
    database reads the portfolio from a covering index (grants 0005) alone."""
    groups = list(
        grants.order_by()
        .values("region", "sector_id", "status")
        # COUNT(*), not COUNT(id): the id is not in the index, and asking for it would
        # send the database back to the table.
        .annotate(grants=Count("*"), approved=Sum("approved_usd"))
    )
    names = dict(
        Sector.objects.filter(code__in={row["sector_id"] for row in groups}).values_list(
            "code", "name"
        )
    )
    by = {"region": {}, "sector": {}, "status": {}}
    for row in groups:
        keys = {
            "region": row["region"],
            "sector": (row["sector_id"], names[row["sector_id"]]),
            "status": row["status"],
        }
        for label, key in keys.items():
            entry = by[label].setdefault(key, [0, ZERO])
            entry[0] += row["grants"]
            entry[1] += row["approved"] or ZERO

    def rows(label):
        out = []
        for key, (count, approved) in sorted(by[label].items()):
            row = {label: key[0], "name": key[1]} if label == "sector" else {label: key}
            out.append({**row, "grants": count, "approved_usd": to_cents(approved)})
        return out

    return {"by_region": rows("region"), "by_sector": rows("sector"), "by_status": rows("status")}


def donor_dashboard(*, partner, user) -> dict:
    """What a partner contributed, its share of the fund, and what the fund finances.

    The portfolio is the whole fund's (a pooled fund finances grants with everyone's
    money), over grants approved and later, as a donor sees them. Cached until the data
    changes (``seetf.common.datacache``); the fund's ``as_of`` is the time of asking,
    since the cache only answers while nothing has changed.
    """
    data = cached(
        ("donor-dashboard", partner.pk, visibility_key(user)),
        lambda: _donor_dashboard(partner=partner, user=user),
    )
    # Read at the time of asking, not cached: the clock, and a setting that a restart
    # may have changed without any data changing.
    fund = {
        **data["fund"],
        "as_of": timezone.now(),
        "low_balance_threshold_usd": settings.FUNDING_ALERT_THRESHOLD_USD,
    }
    return {**data, "fund": fund}


def _windows_held_and_financed() -> list[dict]:
    """Each funding window: what it holds (allocated, committed, disbursed, available)
    and how many grants approved and later it finances (one query)."""
    rows = (
        Window.objects.annotate(
            financed=Count("grants", filter=Q(grants__status__in=APPROVED_AND_LATER))
        )
        .order_by("code")
        .values(
            "code",
            "name",
            "kind",
            "region",
            "status",
            "allocated_usd",
            "committed_usd",
            "disbursed_usd",
            "financed",
        )
    )
    return [
        {
            **{k: v for k, v in row.items() if k != "financed"},
            "available_usd": row["allocated_usd"] - row["committed_usd"],
            "grants": row["financed"],
        }
        for row in rows
    ]


def _donor_dashboard(*, partner, user) -> dict:
    contributions = list(Contribution.objects.filter(partner=partner).order_by("signed_on", "id"))
    fund = fund_summary()
    received = sum((c.received_usd for c in contributions), ZERO)
    pledged = sum((c.pledged_usd for c in contributions), ZERO)
    share = (received / fund["received_usd"] * 100).quantize(CENT) if fund["received_usd"] else ZERO
    portfolio = Grant.objects.filter(status__in=APPROVED_AND_LATER)
    outcomes = _outcome_totals(reported_grants_visible_to(user))
    return {
        "partner": {"id": partner.id, "code": partner.code, "name": partner.name},
        "contributions": [
            {
                "id": c.id,
                "reference": c.reference,
                "currency": c.currency,
                "pledged_amount": c.pledged_amount,
                "pledged_usd": c.pledged_usd,
                "received_usd": c.received_usd,
                "outstanding_usd": c.outstanding_usd,
                "status": c.status,
            }
            for c in contributions
        ],
        "pledged_usd": pledged,
        "received_usd": received,
        "share_of_fund_received_percent": share,
        "fund": fund,
        "portfolio": _portfolio(portfolio),
        "windows": _windows_held_and_financed(),
        "outcome_totals": outcomes,
        "cofinancing": _cofinancing(partner),
    }


def _cofinancing(partner) -> dict:
    """Money co-financiers put into grants approved and later outside the fund (partner
    roles ``cofinancier``): reported beside the fund's money, never in its ledger. One
    query."""
    found = GrantPartnerRole.objects.filter(
        role=PartnerRole.COFINANCIER, grant__status__in=APPROVED_AND_LATER
    ).aggregate(
        total=Sum("cofinancing_usd"),
        own=Sum("cofinancing_usd", filter=Q(partner=partner)),
        grants=Count("grant", distinct=True),
    )
    return {
        "partner_usd": found["own"] or ZERO,
        "all_usd": found["total"] or ZERO,
        "grants": found["grants"],
    }


def donor_home(user) -> dict:
    """The donor's part of the home page: their money and share, and the outcomes."""
    own = donor_partner_id(user)
    if own is None:
        return {"partner": None}
    partner = Partner.objects.get(pk=own)
    data = donor_dashboard(partner=partner, user=user)
    return {"partner": partner, "data": data}
