"""Suggestions: for a request, the published offers ranked by a score that explains
itself. The weights are this table (README "Brokering knowledge" repeats it; the
numbers live in ``ranking_sql``, which the benchmark's bare floor reads without Django):

| signal | points |
|---|---:|
| an offer's sector is one of the request's DAC purpose codes | 40 |
| otherwise, a sector in one of the request's DAC categories (first 3 digits) | 20 |
| a language both use | 15 |
| an instrument both want | 10 |
| capacity left this year (capacity_per_year minus its matches this year) | 10 |
| capacity exhausted this year | -25 |
| evidence: per accepted completion report (see below), by its rating | -10 .. 15 |
| the provider country in the recipient's income group | 5 |
| the provider country in the recipient's region | 5 |
| the descriptions' text similarity (PostgreSQL full-text rank; token overlap on SQLite) | 0 .. 10 |

Evidence: the accepted completion reports of grants in one of the request's sectors
where the offer's provider country was a provider country, each rated HS 5, S 4, MS 2,
MU -1, U -3, HU -5 points, the sum capped at -10 and +15.

Candidates are the published offers with a sector in one of the request's categories
(an offer outside the sectors asked about is never suggested), never from the recipient
country itself; drafts and withdrawn offers never. Offers whose capacity is exhausted
are still suggested, lower (the fund may still agree with the provider). Best first:
score descending, then the offer's id ascending (the tie-break), at most ``limit``.

Queries (the request and its sectors read by the caller), whatever the number of offers:
on PostgreSQL the evidence, the best candidates scored and ordered by the database
with the signals their reasons name (sectors, languages and instruments shared,
matches this year, text rank: ``_ranked_postgres``, one statement of ``ranking_sql``,
which text-ranks only the candidates that can be shown), and what the reasons name of
the offers shown: three; elsewhere the candidates, their sectors and their matches this
year are read and compared here (``_signals_python``), and the evidence: four. Every
candidate is scored; only the ones shown are explained.
"""

from collections import defaultdict
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from grants.models import Grant, Instrument
from partners.models import Country

from .languages import language_name
from .models import ExchangeRequest, Match, Offer, OfferStatus
from .ranking_sql import (  # noqa: F401 - the weights are read from here too
    COLUMNS,
    DEFAULT_LIMIT,
    EVIDENCE_MAX,
    EVIDENCE_MIN,
    MAX_LIMIT,
    MAX_QUERY_WORDS,
    RATING_POINTS,
    STOP_WORDS,
    WEIGHTS,
    ranking_statement,
    words,
)


@dataclass
class Suggestion:
    offer_id: int
    score: float
    reasons: list[str]


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def suggest(request: ExchangeRequest, *, limit: int = DEFAULT_LIMIT, year=None) -> list[Suggestion]:
    """The best ``limit`` candidates: every candidate scored from its signals (what
    ``_signals_postgres`` or ``_signals_python`` read), then the reasons written for the
    ones shown only."""
    year = year or timezone.localdate().year
    country = request.recipient_country
    wanted = {sector.code for sector in request.sectors.all()}  # prefetched by the callers
    categories = {code[:3] for code in wanted}
    if not categories:
        return []
    through = Offer.sectors.through
    in_categories = reduce(or_, (Q(sector__code__startswith=c) for c in sorted(categories)))
    candidate_ids = through.objects.filter(in_categories).values("offer_id")
    candidates = Offer.objects.filter(pk__in=candidate_ids, status=OfferStatus.PUBLISHED).exclude(
        provider_country_id=country.code
    )
    request_words = words(f"{request.title} {request.description}")
    context = {
        "wanted": wanted,
        "categories": categories,
        "languages": set(request.languages),
        "instruments": set(request.instruments),
        "country": country,
        "year": year,
    }
    # Every provider's evidence in these sectors (a few dozen countries), known before
    # the candidates are scored.
    evidence = _evidence_points(wanted)
    if _postgres():
        scored = [
            (float(row["score"]), row["id"], row)
            for row in _ranked_postgres(candidates, context, request_words, evidence, limit)
        ]
    else:
        signals = _signals_python(candidates, context, request_words)
        scored = sorted(
            ((_score(row, evidence), row["id"], row) for row in signals),
            key=lambda item: (-item[0], item[1]),
        )[:limit]
    details = {row["id"]: row["details"] for _, _, row in scored if "details" in row}
    if len(details) < len(scored):
        details = _details([offer_id for _, offer_id, _ in scored])
    return [
        Suggestion(offer_id, score, _reasons(row, details[offer_id], context, evidence))
        for score, offer_id, row in scored
    ]


# --- Signals: what each candidate has of what the request wants ------------------------------


def _ranked_postgres(
    candidates, context, request_words, evidence, limit, *, cut=True
) -> list[dict]:
    """One query: the best ``limit`` candidates, scored and ordered by the database, with
    the signals their reasons name (``ranking_sql``: the text rank only for the
    candidates whose other points leave it a chance to be shown)."""
    # The candidates' own conditions (``suggest``'s queryset), on the offers' table itself.
    where_sql, where_params = candidates.query.get_compiler(connection=connection).compile(
        candidates.query.where
    )
    country = context["country"]
    statement, params = ranking_statement(
        weights=WEIGHTS,
        offers=connection.ops.quote_name(Offer._meta.db_table),
        sectors=Offer.sectors.through._meta.db_table,
        matches=Match._meta.db_table,
        countries=Country._meta.db_table,
        candidates_where=where_sql,
        candidates_params=list(where_params),
        wanted=sorted(context["wanted"]),
        languages=sorted(context["languages"]),
        instruments=sorted(context["instruments"]),
        year=context["year"],
        income_group=country.income_group,
        region=country.region,
        evidence={code: found[0] for code, found in evidence.items()},
        words=sorted(request_words)[:MAX_QUERY_WORDS],
        limit=limit,
        cut=cut,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def _signals_python(candidates, context, request_words) -> list[dict]:
    """The same signals as ``_signals_postgres``, computed here (SQLite: no JSON array
    operators, no text rank): the candidates, their sectors, their matches this year."""
    through = Offer.sectors.through
    country = context["country"]
    rows = list(
        candidates.values(
            "id",
            "provider_country_id",
            "provider_country__income_group",
            "provider_country__region",
            "languages",
            "instruments",
            "capacity_per_year",
            "title",
            "description",
        )
    )
    if not rows:
        return []
    offer_sectors = defaultdict(set)
    for offer_id, code in through.objects.filter(offer_id__in=candidates.values("id")).values_list(
        "offer_id", "sector_id"
    ):
        offer_sectors[offer_id].add(code)
    used = dict(
        Match.objects.filter(offer_id__in=candidates.values("id"), year=context["year"])
        .values("offer_id")
        .annotate(n=Count("id"))
        .values_list("offer_id", "n")
    )
    return [
        {
            "id": row["id"],
            "provider_country_id": row["provider_country_id"],
            "capacity_per_year": row["capacity_per_year"],
            "same_code": bool(offer_sectors[row["id"]] & context["wanted"]),
            "shares_language": bool(context["languages"] & set(row["languages"])),
            "shares_instrument": bool(context["instruments"] & set(row["instruments"])),
            "used": used.get(row["id"], 0),
            "same_income": row["provider_country__income_group"] == country.income_group,
            "same_region": row["provider_country__region"] == country.region,
            "text_rank": _overlap(row, request_words),
            "details": {
                "languages": row["languages"],
                "instruments": row["instruments"],
                "sectors": offer_sectors[row["id"]],
            },
        }
        for row in rows
    ]


def _overlap(row: dict, request_words: set[str]) -> float:
    """The descriptions' similarity without PostgreSQL: their words' Jaccard index."""
    if not request_words:
        return 0.0
    offer_words = words(f"{row['title']} {row['description']}")
    if not offer_words:
        return 0.0
    return len(request_words & offer_words) / len(request_words | offer_words)


# --- The score and its reasons ----------------------------------------------------------------


def _text_points(row: dict) -> float:
    return round(WEIGHTS["text_similarity_max"] * float(row["text_rank"] or 0.0), 2)


def _score(row: dict, evidence: dict) -> float:
    """The score of one candidate's signals (the table of the module's docstring)."""
    score = 0.0
    score += WEIGHTS["same_purpose_code"] if row["same_code"] else WEIGHTS["same_category"]
    if row["shares_language"]:
        score += WEIGHTS["shared_language"]
    if row["shares_instrument"]:
        score += WEIGHTS["shared_instrument"]
    if row["capacity_per_year"] - row["used"] > 0:
        score += WEIGHTS["capacity_left"]
    else:
        score += WEIGHTS["capacity_exhausted"]
    found = evidence.get(row["provider_country_id"])
    if found:
        score += found[0]
    if row["same_income"]:
        score += WEIGHTS["same_income_group"]
    if row["same_region"]:
        score += WEIGHTS["same_region"]
    points = _text_points(row)
    if points >= 0.01:
        score += points
    return round(score, 2)


def _details(offer_ids: list[int]) -> dict[int, dict]:
    """What the reasons name of the offers shown: their sectors, languages and
    instruments (one query, a row per offer and sector)."""
    found: dict[int, dict] = {}
    rows = Offer.objects.filter(pk__in=offer_ids).values_list(
        "id", "languages", "instruments", "sectors__code"
    )
    for offer_id, languages, instruments, sector in rows:
        entry = found.setdefault(
            offer_id, {"languages": languages, "instruments": instruments, "sectors": set()}
        )
        if sector:
            entry["sectors"].add(sector)
    return found


def _reasons(row: dict, details: dict, context: dict, evidence: dict) -> list[str]:
    """The reasons for one shown offer's score, in the table's order."""
    reasons = []
    sectors = details["sectors"]
    same = sorted(sectors & context["wanted"])
    if same:
        reasons.append(f"same DAC purpose code {', '.join(same)}")
    else:
        shared = sorted({s for s in sectors if s[:3] in context["categories"]})
        reasons.append(f"same DAC category ({', '.join(s[:3] for s in shared[:3])})")
    languages = sorted(context["languages"] & set(details["languages"]))
    if languages:
        reasons.append(f"shared language: {', '.join(language_name(c) for c in languages)}")
    instruments = sorted(context["instruments"] & set(details["instruments"]))
    if instruments:
        labels = dict(Instrument.choices)
        reasons.append(
            "an instrument both want: " + ", ".join(str(labels.get(i, i)) for i in instruments)
        )
    capacity = row["capacity_per_year"]
    left = capacity - row["used"]
    if left > 0:
        reasons.append(f"capacity left this year: {left} of {capacity}")
    else:
        reasons.append(f"capacity exhausted this year ({capacity} matched)")
    found = evidence.get(row["provider_country_id"])
    if found:
        reasons.append(found[1])
    if row["same_income"]:
        reasons.append("provider in the same income group")
    if row["same_region"]:
        reasons.append("provider in the same region")
    points = _text_points(row)
    if points >= 0.01:
        reasons.append(f"similar descriptions (+{points:.2f})")
    return reasons


def _rating_order(rating: str) -> int:
    return list(RATING_POINTS).index(rating) if rating in RATING_POINTS else 99


def _evidence(sectors: set[str]) -> dict[str, list[str]]:
    """{provider country: [rating, ...]} of the accepted completion reports of grants in
    these sectors, for each country that was a provider of such a grant (one query)."""
    if not sectors:
        return {}
    through = Grant.provider_countries.through
    rows = (
        through.objects.filter(
            grant__sector_id__in=sectors,
            grant__completion_report__accepted_at__isnull=False,
        )
        .exclude(grant__completion_report__rating="")
        .values_list("country_id", "grant__completion_report__rating")
    )
    found = defaultdict(list)
    for code, rating in rows:
        found[code].append(rating)
    return found


def _evidence_points(sectors: set[str]) -> dict:
    """{provider country: (points, reason)} from ``_evidence``: reckoned once per country,
    not once per offer."""
    out = {}
    for code, reports in _evidence(sectors).items():
        points = sum(RATING_POINTS.get(r, 0) for r in reports)
        points = max(EVIDENCE_MIN, min(EVIDENCE_MAX, points))
        out[code] = (
            points,
            f"evidence: {len(reports)} accepted completion report(s) in the sector, "
            f"rated {', '.join(sorted(reports, key=_rating_order))} ({points:+d})",
        )
    return out
