"""The exchange-flows report computed by PostgreSQL in one statement.

``portfolio.exchange_flows`` reads every exchange held and its countries and pairs them
in Python (50,000 exchanges at 20,000 grants). Here the database pairs them: each
exchange held with its provider and recipient countries (its grant's on a side where it
names none), a pair counted once per exchange (by region, two countries of one region
are one pair), then per pair and over every exchange in a pair, the exchanges, grants,
participants and women. The definitions are ``portfolio``'s (its docstring); only a row
per pair comes back.
"""

from __future__ import annotations

from django.db import connection

from grants.models import Exchange, ExchangeStatus, Grant
from partners.models import Country, Region

from .cycletimes_sql import _bind, _literal


def _side(role: str) -> str:
    """The (exchange, country) pairs of one side: the exchange's own countries, or where
    it names none, its grant's."""
    own = getattr(Exchange, f"{role}_countries").through._meta.db_table
    grants = getattr(Grant, f"{role}_countries").through._meta.db_table
    return f"""
    SELECT h.id, c.country_id FROM held h JOIN {own} c ON c.exchange_id = h.id
    UNION ALL
    SELECT h.id, c.country_id FROM held h JOIN {grants} c ON c.grant_id = h.grant_id
    WHERE NOT EXISTS (SELECT 1 FROM {own} x WHERE x.exchange_id = h.id)"""


def _statement(by: str) -> str:
    place = "code" if by == "country" else "region"
    names = ("ps.name", "pd.name") if by == "country" else ("NULL", "NULL")
    countries = Country._meta.db_table
    return f"""
WITH held AS (
    SELECT id, grant_id, participants, women_participants FROM {Exchange._meta.db_table}
    WHERE status = {_literal(ExchangeStatus.HELD)} AND grant_id IN (__SCOPED__)
),
src AS ({_side("provider")}),
dst AS ({_side("recipient")}),
pairs AS (
    SELECT DISTINCT h.id, h.grant_id, h.participants, h.women_participants,
        ps.{place} AS a, {names[0]} AS a_name, pd.{place} AS b, {names[1]} AS b_name
    FROM held h
    JOIN src s ON s.id = h.id JOIN {countries} ps ON ps.code = s.country_id
    JOIN dst d ON d.id = h.id JOIN {countries} pd ON pd.code = d.country_id
)
SELECT a, max(a_name), b, max(b_name), count(*), count(DISTINCT grant_id),
    sum(participants), sum(women_participants)
FROM pairs GROUP BY a, b
UNION ALL
SELECT NULL, NULL, NULL, NULL, count(*), count(DISTINCT grant_id),
    COALESCE(sum(participants), 0), COALESCE(sum(women_participants), 0)
FROM (SELECT DISTINCT id, grant_id, participants, women_participants FROM pairs) x
"""


def exchange_flows_postgres(grants, by: str) -> dict:
    """``portfolio.exchange_flows`` in one query."""
    statement, params = _bind(_statement(by), grants)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        found = cursor.fetchall()
    regions = dict(Region.choices)
    keys = ("exchanges", "grants", "participants", "women_participants")
    rows, totals = [], None
    for a, a_name, b, b_name, *figures in found:
        if a is None:
            totals = dict(zip(keys, figures, strict=True))
            continue
        if by == "region":
            a_name, b_name = str(regions.get(a, a)), str(regions.get(b, b))
        rows.append(
            {
                "provider": a,
                "provider_name": a_name,
                "recipient": b,
                "recipient_name": b_name,
                **dict(zip(keys, figures, strict=True)),
            }
        )
    rows.sort(key=lambda row: (-row["exchanges"], row["provider"], row["recipient"]))
    return {"rows": rows, "totals": totals}
