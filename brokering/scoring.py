"""Suggestions: for a request, the published offers ranked by a score that explains
itself. The weights are this table (README "Brokering knowledge" repeats it):

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

Queries (the request and its sectors read by the caller): the candidates (their text
rank computed in the same statement on PostgreSQL), their sectors, their matches this
year, the evidence: four, whatever the number of offers; then the offers shown.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from grants.models import Grant, Instrument

from .languages import language_name
from .models import ExchangeRequest, Match, Offer, OfferStatus

WEIGHTS = {
    "same_purpose_code": 40,
    "same_category": 20,
    "shared_language": 15,
    "shared_instrument": 10,
    "capacity_left": 10,
    "capacity_exhausted": -25,
    "same_income_group": 5,
    "same_region": 5,
    "text_similarity_max": 10,
}
RATING_POINTS = {"HS": 5, "S": 4, "MS": 2, "MU": -1, "U": -3, "HU": -5}
EVIDENCE_MIN, EVIDENCE_MAX = -10, 15
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_QUERY_WORDS = 30
_WORD = re.compile(r"[a-z0-9]{3,}")
STOP_WORDS = frozenset(
    "the and for with from that this are was were its their our into over under about "
    "how what which who has have had not but can will all any more most other such than "
    "very also been being each per via".split()
)


@dataclass
class Suggestion:
    offer_id: int
    score: float
    reasons: list[str]


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall((text or "").lower()) if w not in STOP_WORDS}


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _text_rank(candidates, request_words):
    """PostgreSQL: the offers annotated with the full-text rank of their title and
    description against the request's words (any of them), normalised to 0..1."""
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    if not request_words:
        return candidates, False
    chosen = sorted(request_words)[:MAX_QUERY_WORDS]
    query = reduce(or_, (SearchQuery(w, config="english") for w in chosen))
    vector = SearchVector("title", weight="A", config="english") + SearchVector(
        "description", weight="B", config="english"
    )
    # Normalisation 32: rank / (rank + 1), within 0..1.
    return candidates.annotate(text_rank=SearchRank(vector, query, normalization=32)), True


def suggest(request: ExchangeRequest, *, limit: int = DEFAULT_LIMIT, year=None) -> list[Suggestion]:
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
    ranked = False
    if _postgres():
        candidates, ranked = _text_rank(candidates, request_words)
    columns = [
        "id",
        "provider_country_id",
        "provider_country__income_group",
        "provider_country__region",
        "languages",
        "instruments",
        "capacity_per_year",
    ]
    if ranked:
        columns.append("text_rank")
    elif not _postgres():
        columns += ["title", "description"]
    rows = list(candidates.values(*columns))
    if not rows:
        return []
    offer_sectors = defaultdict(set)
    for offer_id, code in through.objects.filter(offer_id__in=candidates.values("id")).values_list(
        "offer_id", "sector_id"
    ):
        offer_sectors[offer_id].add(code)
    used = dict(
        Match.objects.filter(offer_id__in=candidates.values("id"), year=year)
        .values("offer_id")
        .annotate(n=Count("id"))
        .values_list("offer_id", "n")
    )
    evidence = _evidence(wanted, {row["provider_country_id"] for row in rows})
    wanted_languages = set(request.languages)
    wanted_instruments = set(request.instruments)
    instrument_labels = dict(Instrument.choices)
    out = []
    for row in rows:
        score, reasons = 0.0, []
        sectors = offer_sectors[row["id"]]
        same = sorted(sectors & wanted)
        if same:
            score += WEIGHTS["same_purpose_code"]
            reasons.append(f"same DAC purpose code {', '.join(same)}")
        else:
            shared = sorted({s for s in sectors if s[:3] in categories})
            score += WEIGHTS["same_category"]
            reasons.append(f"same DAC category ({', '.join(s[:3] for s in shared[:3])})")
        languages = sorted(wanted_languages & set(row["languages"]))
        if languages:
            score += WEIGHTS["shared_language"]
            reasons.append(f"shared language: {', '.join(language_name(c) for c in languages)}")
        instruments = sorted(wanted_instruments & set(row["instruments"]))
        if instruments:
            score += WEIGHTS["shared_instrument"]
            reasons.append(
                "an instrument both want: "
                + ", ".join(str(instrument_labels.get(i, i)) for i in instruments)
            )
        left = row["capacity_per_year"] - used.get(row["id"], 0)
        if left > 0:
            score += WEIGHTS["capacity_left"]
            reasons.append(f"capacity left this year: {left} of {row['capacity_per_year']}")
        else:
            score += WEIGHTS["capacity_exhausted"]
            reasons.append(f"capacity exhausted this year ({row['capacity_per_year']} matched)")
        reports = evidence.get(row["provider_country_id"])
        if reports:
            points = sum(RATING_POINTS.get(r, 0) for r in reports)
            points = max(EVIDENCE_MIN, min(EVIDENCE_MAX, points))
            score += points
            reasons.append(
                f"evidence: {len(reports)} accepted completion report(s) in the sector, "
                f"rated {', '.join(sorted(reports, key=_rating_order))} ({points:+d})"
            )
        if row["provider_country__income_group"] == country.income_group:
            score += WEIGHTS["same_income_group"]
            reasons.append("provider in the same income group")
        if row["provider_country__region"] == country.region:
            score += WEIGHTS["same_region"]
            reasons.append("provider in the same region")
        similarity = _similarity(row, request_words, ranked)
        points = round(WEIGHTS["text_similarity_max"] * similarity, 2)
        if points >= 0.01:
            score += points
            reasons.append(f"similar descriptions (+{points:.2f})")
        out.append(Suggestion(row["id"], round(score, 2), reasons))
    out.sort(key=lambda s: (-s.score, s.offer_id))
    return out[:limit]


def _rating_order(rating: str) -> int:
    return list(RATING_POINTS).index(rating) if rating in RATING_POINTS else 99


def _similarity(row: dict, request_words: set[str], ranked: bool) -> float:
    if ranked:
        return float(row.get("text_rank") or 0.0)
    if "description" not in row or not request_words:
        return 0.0
    offer_words = words(f"{row['title']} {row['description']}")
    if not offer_words:
        return 0.0
    return len(request_words & offer_words) / len(request_words | offer_words)


def _evidence(sectors: set[str], provider_countries: set[str]) -> dict[str, list[str]]:
    """{provider country: [rating, ...]} of the accepted completion reports of grants in
    these sectors where that country was a provider (one query)."""
    if not sectors or not provider_countries:
        return {}
    through = Grant.provider_countries.through
    rows = (
        through.objects.filter(
            country_id__in=provider_countries,
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
