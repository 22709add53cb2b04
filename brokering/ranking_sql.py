"""The suggestions' ranking statement on PostgreSQL (``scoring._ranked_postgres``), as
text and parameters. Plain Python, no Django: the benchmark's bare WSGI floor
(bench/bare_wsgi.py) runs the very same statement.

One statement gives the best ``limit`` candidates, scored and ordered by the database,
with the signals their reasons name; only those rows come back, whatever the number of
candidates. The text rank is the one costly signal (a ``ts_rank`` per offer) and adds at
most ``text_similarity_max`` points, so it is computed only where it can matter: every
candidate's other points first (``base``: a few comparisons, its matches this year and
its provider's evidence as hash joins, not a subquery per candidate), then the text rank
of the candidates whose base plus the most the text can add reaches the ``limit``-th
best base. Any other candidate is below ``limit`` offers whatever its text (a score is
at least its base), so the offers shown and their order are those of ranking every
candidate in full (``cut=False``; tests/perf/test_analytics_sql.py compares the two).
"""

from __future__ import annotations

import re

# The weights (the table of ``scoring``'s docstring), the ratings' points, and the
# request's words: here, without Django, for the benchmark's bare floor too.
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


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall((text or "").lower()) if w not in STOP_WORDS}


COLUMNS = (
    "id",
    "provider_country_id",
    "capacity_per_year",
    "same_code",
    "shares_language",
    "shares_instrument",
    "used",
    "same_income",
    "same_region",
    "text_rank",
    "score",
)


def ranking_statement(
    *,
    weights: dict,
    offers: str,
    sectors: str,
    matches: str,
    countries: str,
    candidates_where: str,
    candidates_params: list,
    wanted: list[str],
    languages: list[str],
    instruments: list[str],
    year: int,
    income_group: str,
    region: str,
    evidence: dict[str, int],
    words: list[str],
    limit: int,
    cut: bool = True,
) -> tuple[str, list]:
    """The statement and its parameters. ``offers`` is the offers' table, quoted, as
    ``candidates_where`` (the candidates' conditions) names it; ``evidence`` is each
    provider country's points; ``words`` the request's words (any of them matches)."""
    w = weights
    select_params: list = [list(wanted)]
    shares_language = f"{offers}.languages ?| %s" if languages else "FALSE"
    if languages:
        select_params.append(list(languages))
    shares_instrument = f"{offers}.instruments ?| %s" if instruments else "FALSE"
    if instruments:
        select_params.append(list(instruments))
    select_params += [income_group, region]
    join_params: list = [year]
    if evidence:
        items = sorted(evidence.items())
        values = ", ".join("(%s, %s)" for _ in items)
        evidence_join = (
            f"LEFT JOIN (VALUES {values}) AS ev (code, points) "
            f"ON ev.code = {offers}.provider_country_id"
        )
        join_params += [value for item in items for value in item]
        evidence_points = "COALESCE(ev.points, 0)"
    else:
        evidence_join, evidence_points = "", "0"
    if words:
        query = " || ".join("plainto_tsquery('english'::regconfig, %s)" for _ in words)
        text_rank = (
            f"(SELECT ts_rank(o.search_vector, {query}, 32) FROM {offers} o WHERE o.id = b.id)"
        )
        rank_params, slack = list(words), w["text_similarity_max"]
    else:
        text_rank, rank_params, slack = "0.0::float8", [], 0
    if cut:
        # The limit-th best base (none when there are fewer candidates: all are shown).
        threshold = (
            "WHERE b.base + %s >= COALESCE("
            "(SELECT base FROM based ORDER BY base DESC LIMIT 1 OFFSET %s), b.base)"
        )
        cut_params = [slack, limit - 1]
    else:
        threshold, cut_params = "", []
    base = (
        f"CASE WHEN same_code THEN {w['same_purpose_code']} ELSE {w['same_category']} END"
        f" + CASE WHEN shares_language THEN {w['shared_language']} ELSE 0 END"
        f" + CASE WHEN shares_instrument THEN {w['shared_instrument']} ELSE 0 END"
        f" + CASE WHEN capacity_per_year > used THEN {w['capacity_left']}"
        f" ELSE {w['capacity_exhausted']} END"
        " + evidence"
        f" + CASE WHEN same_income THEN {w['same_income_group']} ELSE 0 END"
        f" + CASE WHEN same_region THEN {w['same_region']} ELSE 0 END"
    )
    statement = f"""
WITH signals AS MATERIALIZED (
    SELECT {offers}.id, {offers}.provider_country_id, {offers}.capacity_per_year,
        EXISTS (SELECT 1 FROM {sectors} s WHERE s.offer_id = {offers}.id
                AND s.sector_id = ANY(%s)) AS same_code,
        {shares_language} AS shares_language,
        {shares_instrument} AS shares_instrument,
        c.income_group = %s AS same_income,
        c.region = %s AS same_region,
        COALESCE(mu.n, 0) AS used,
        {evidence_points} AS evidence
    FROM {offers}
    JOIN {countries} c ON c.code = {offers}.provider_country_id
    LEFT JOIN (SELECT m.offer_id, count(*) AS n FROM {matches} m WHERE m.year = %s
               GROUP BY m.offer_id) mu ON mu.offer_id = {offers}.id
    {evidence_join}
    WHERE {candidates_where}
),
based AS MATERIALIZED (SELECT signals.*, {base} AS base FROM signals),
ranked AS MATERIALIZED (SELECT b.*, {text_rank} AS text_rank FROM based b {threshold}),
scored AS (
    SELECT r.*, round((r.text_rank * {w["text_similarity_max"]})::numeric, 2) AS points
    FROM ranked r
)
SELECT {", ".join(COLUMNS[:-1])},
    base + CASE WHEN points >= 0.01 THEN points ELSE 0 END AS score
FROM scored
ORDER BY score DESC, id
LIMIT %s"""
    params = [
        *select_params,
        *join_params,
        *candidates_params,
        *rank_params,
        *cut_params,
        limit,
    ]
    return statement, params
