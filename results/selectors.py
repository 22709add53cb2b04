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

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
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
from partners.roles import donor_partner_id, is_fund_manager
from seetf.common.datacache import cached
from seetf.common.money import CENT, MONEY, ZERO, to_cents

from .models import OUTCOME_FIELDS, CompletionReport, ResultsStory
from .permissions import can_see_story_drafts

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
