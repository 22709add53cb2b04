"""The exchange-flows report on PostgreSQL, summed over kept facts.

``portfolio.exchange_flows`` reads every exchange held and its countries and pairs them
in Python (50,000 exchanges at 20,000 grants; pairing them in one statement took 7.5 s
at 200,000 grants). Here each grant's flows are kept (``GrantFlowFacts``, analytics
0002): per (provider, recipient) country pair, per region pair and in all, its exchanges
held, their participants and women, an exchange counted once in each pair it joins; and
their sums per grant status (``FlowTotals``). The triggers of analytics 0002 note the
grants whose records changed (``GrantFlowDirty``); each report first computes their
facts again and moves the sums by the difference (``refresh_flow_facts``), then adds up:

- over ``FlowTotals`` when the grants in scope are whole statuses (``statuses``: a
  fund manager's, a donor's, the public's, with a status filter at most): a few
  thousand rows, whatever the portfolio's size;
- over the facts of the grants in scope otherwise (a leader's, a window manager's, any
  other filter): a row per grant and pair, no exchange read.

The definitions are ``portfolio``'s (its docstring); the tests compare the two.
"""

from __future__ import annotations

from django.db import connection, transaction

from grants.models import Exchange, ExchangeStatus, Grant, Instrument
from partners.models import Country, Region
from results.models import CompletionReport, ConcreteResult

from .cycletimes_sql import _bind, _literal
from .models import (
    FLOW_BY_COUNTRY,
    FLOW_BY_REGION,
    FLOW_TOTAL,
    GRANT_FACTS,
    PROVIDER_COUNTRY,
    RECIPIENT_COUNTRY,
    FlowTotals,
    GrantFlowDirty,
    GrantFlowFacts,
)

KINDS = {"country": FLOW_BY_COUNTRY, "region": FLOW_BY_REGION}

# The transaction-level advisory lock the refreshes of the flow facts take (a fixed key,
# not the cycle facts' own).
REFRESH_LOCK = 0x5EE7F002

FACTS = GrantFlowFacts._meta.db_table
TOTALS = FlowTotals._meta.db_table
DIRTY = GrantFlowDirty._meta.db_table
FLOW = ("status", "kind", "provider", "recipient")
SUMS = ("exchanges", "participants", "women")
GRANT_ONLY = ("amount", "study_tour", "concrete")


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


def _facts_statement() -> str:
    """The flow facts of the grants whose ids are ``%(ids)s``, into the facts table: an
    exchange held once per country pair it joins, once per region pair (two countries of
    one region are one pair), once in its grant's totals."""
    countries = Country._meta.db_table
    sums = "count(*), sum(p), sum(w)"
    no_grant = "NULL::numeric, false, false"
    return f"""
WITH held AS (
    SELECT e.id, e.grant_id, g.status, e.participants, e.women_participants, e.instrument
    FROM {Exchange._meta.db_table} e JOIN {Grant._meta.db_table} g ON g.id = e.grant_id
    WHERE e.status = {_literal(ExchangeStatus.HELD)} AND e.grant_id = ANY(%(ids)s)
),
src AS ({_side("provider")}),
dst AS ({_side("recipient")}),
pairs AS (
    SELECT h.id, h.grant_id, h.status, h.participants AS p, h.women_participants AS w,
        ps.code AS a, pd.code AS b, ps.region AS ar, pd.region AS br
    FROM held h
    JOIN src s ON s.id = h.id JOIN {countries} ps ON ps.code = s.country_id
    JOIN dst d ON d.id = h.id JOIN {countries} pd ON pd.code = d.country_id
)
INSERT INTO {FACTS} (grant_id, {", ".join(FLOW)}, {", ".join(SUMS)}, {", ".join(GRANT_ONLY)})
SELECT grant_id, status, '{FLOW_BY_COUNTRY}', a, b, {sums}, {no_grant}
FROM (SELECT DISTINCT id, grant_id, status, p, w, a, b FROM pairs) x
GROUP BY grant_id, status, a, b
UNION ALL
SELECT grant_id, status, '{FLOW_BY_REGION}', ar, br, {sums}, {no_grant}
FROM (SELECT DISTINCT id, grant_id, status, p, w, ar, br FROM pairs) x
GROUP BY grant_id, status, ar, br
UNION ALL
SELECT grant_id, status, '{FLOW_TOTAL}', '', '', {sums}, {no_grant}
FROM (SELECT DISTINCT id, grant_id, status, p, w FROM pairs) x
GROUP BY grant_id, status
UNION ALL
SELECT g.id, g.status, '{GRANT_FACTS}', '', '', COALESCE(x.n, 0), COALESCE(x.p, 0),
    COALESCE(x.w, 0), g.approved_usd, COALESCE(x.tours, 0) > 0,
    EXISTS (SELECT 1 FROM {ConcreteResult._meta.db_table} cr
        JOIN {CompletionReport._meta.db_table} rp ON rp.id = cr.report_id
        WHERE rp.grant_id = g.id)
FROM {Grant._meta.db_table} g
LEFT JOIN (
    SELECT grant_id, count(*) AS n, sum(participants) AS p, sum(women_participants) AS w,
        count(*) FILTER (WHERE instrument = {_literal(Instrument.STUDY_TOUR)}) AS tours
    FROM held GROUP BY grant_id
) x ON x.grant_id = g.id
WHERE g.id = ANY(%(ids)s)
UNION ALL
{_roles("recipient", RECIPIENT_COUNTRY, no_grant)}
UNION ALL
{_roles("provider", PROVIDER_COUNTRY, no_grant)}
"""


def _roles(role: str, kind: str, no_grant: str) -> str:
    """A row per (grant, country) of one role: the grant's own countries and its
    exchanges held's (their own: an exchange that names none adds none)."""
    own = getattr(Grant, f"{role}_countries").through._meta.db_table
    exchanges = getattr(Exchange, f"{role}_countries").through._meta.db_table
    return f"""SELECT x.grant_id, g.status, '{kind}', x.code, '', 0, 0, 0, {no_grant}
FROM (
    SELECT c.grant_id, c.country_id AS code FROM {own} c WHERE c.grant_id = ANY(%(ids)s)
    UNION
    SELECT h.grant_id, c.country_id FROM held h JOIN {exchanges} c ON c.exchange_id = h.id
) x JOIN {Grant._meta.db_table} g ON g.id = x.grant_id"""


def _sums_of_noted(sign: str) -> str:
    """The noted grants' facts summed per status and flow (``%(ids)s``), added to the
    totals (``+``) or taken from them (``-``)."""
    flow = ", ".join(FLOW)
    picked = f"""SELECT {flow}, count(*) AS grants, {", ".join(f"sum({s}) AS {s}" for s in SUMS)},
        COALESCE(sum(amount), 0) AS amount, count(amount) AS amounted,
        count(*) FILTER (WHERE study_tour) AS study_tours,
        count(*) FILTER (WHERE concrete) AS concrete
    FROM {FACTS} WHERE grant_id = ANY(%(ids)s) GROUP BY {flow}"""
    measures = ("grants", *SUMS, "amount", "amounted", "study_tours", "concrete")
    if sign == "-":
        moved = ", ".join(f"{m} = t.{m} - o.{m}" for m in measures)
        matched = " AND ".join(f"t.{c} = o.{c}" for c in FLOW)
        return f"UPDATE {TOTALS} t SET {moved} FROM ({picked}) o WHERE {matched}"
    moved = ", ".join(f"{m} = {TOTALS}.{m} + EXCLUDED.{m}" for m in measures)
    return (
        f"INSERT INTO {TOTALS} ({flow}, {', '.join(measures)}) {picked} "
        f"ON CONFLICT ({flow}) DO UPDATE SET {moved}"
    )


def refresh_flow_facts() -> int:
    """Compute again the flow facts of the grants the triggers noted (analytics 0002)
    and move their statuses' totals by the difference. Call it in a transaction.

    The grants noted are taken (``DELETE ... RETURNING``), and, under ``REFRESH_LOCK``
    (one refresh at a time: two reports may hold the same grant, and the totals are
    moved by what the facts were), their facts are taken from the totals, deleted,
    computed again from what the next statements see and added to the totals; totals
    of no grant left are deleted. A change committed meanwhile notes its grant again,
    for the next report. With nothing noted: one statement, on an empty table. The
    number of grants whose facts were computed again."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {DIRTY} RETURNING grant_id) "
            "SELECT ARRAY(SELECT DISTINCT grant_id FROM gone ORDER BY grant_id)"
        )
        (ids,) = cursor.fetchone()
        if not ids:
            return 0
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        noted = {"ids": ids}
        cursor.execute(_sums_of_noted("-"), noted)
        cursor.execute(f"DELETE FROM {FACTS} WHERE grant_id = ANY(%(ids)s)", noted)
        cursor.execute(_facts_statement(), noted)
        cursor.execute(_sums_of_noted("+"), noted)
        cursor.execute(f"DELETE FROM {TOTALS} WHERE grants = 0")
    return len(ids)


def _named(by: str, summed: str) -> str:
    """The rows of ``summed`` (kind, provider, recipient, the four figures) with the
    countries' names (by country; ``both``: on the country rows)."""
    if by == "region":
        return f"SELECT kind, provider, NULL, recipient, NULL, g, e, p, w FROM ({summed}) x"
    countries = Country._meta.db_table
    return f"""SELECT x.kind, x.provider, ps.name, x.recipient, pd.name, x.g, x.e, x.p, x.w
FROM ({summed}) x
LEFT JOIN {countries} ps ON x.kind = '{FLOW_BY_COUNTRY}' AND ps.code = x.provider
LEFT JOIN {countries} pd ON x.kind = '{FLOW_BY_COUNTRY}' AND pd.code = x.recipient"""


def _figures(source: str, grants: str, where: str) -> str:
    return (
        f"SELECT kind, provider, recipient, {grants}::bigint AS g, sum(exchanges)::bigint AS e, "
        "sum(participants)::bigint AS p, sum(women)::bigint AS w "
        f"FROM {source} WHERE {where} GROUP BY kind, provider, recipient"
    )


def _kinds(by: str) -> str:
    """The flows ``by`` asks for, and the totals (``both``: by country and by region)."""
    kinds = [FLOW_BY_COUNTRY, FLOW_BY_REGION] if by == "both" else [KINDS[by]]
    return "kind IN ({})".format(", ".join(f"'{kind}'" for kind in [*kinds, FLOW_TOTAL]))


def _statement(by: str) -> str:
    """Over the facts of the grants in scope (``__SCOPED__``, ``cycletimes_sql._bind``)."""
    where = f"{_kinds(by)} AND grant_id IN (__SCOPED__)"
    return _named(by, _figures(FACTS, "count(*)", where))


def _totals_statement(by: str) -> str:
    """Over the totals of the statuses in scope (its parameter, an array)."""
    return _named(by, _figures(TOTALS, "sum(grants)", f"{_kinds(by)} AND status = ANY(%s)"))


def read_kept(scoped: str, totals: str, grants, statuses) -> list[tuple]:
    """The facts of the grants noted refreshed, then the rows of ``totals`` over the sums
    of ``statuses`` when given (the grants are these statuses' whole), else of
    ``scoped`` over the facts of ``grants`` (``__SCOPED__``). Two queries."""
    if statuses is None:
        statement, params = _bind(scoped, grants)
    else:
        statement, params = totals, [sorted(statuses)]
    # (No savepoint in a transaction already open: two statements fewer.)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        refresh_flow_facts()
        cursor.execute(statement, params)
        return cursor.fetchall()


def _report(grants, by: str, statuses) -> list[tuple]:
    return read_kept(_statement(by), _totals_statement(by), grants, statuses)


def exchange_flows_postgres(grants, by: str, statuses=None) -> dict:
    """``portfolio.exchange_flows``: over the totals of ``statuses`` when the grants in
    scope are exactly the grants at these statuses (``grants.filters.status_scope``),
    else over the facts of ``grants``. Two queries: the grants noted, the sums."""
    return flow_rows(by, _report(grants, by, statuses))


def exchange_flows_both_postgres(grants, statuses=None) -> dict:
    """The flows by country and by region from the same two queries."""
    found = _report(grants, "both", statuses)
    return {
        by: flow_rows(by, [row for row in found if row[0] in (KINDS[by], FLOW_TOTAL)])
        for by in KINDS
    }


def flow_rows(by: str, found) -> dict:
    """The report from the statement's rows (kind, provider, provider's name, recipient,
    recipient's name, grants, exchanges, participants, women)."""
    regions = dict(Region.choices)
    totals = {"exchanges": 0, "grants": 0, "participants": 0, "women_participants": 0}
    rows = []
    for kind, a, a_name, b, b_name, grants, exchanges, participants, women in found:
        figures = {
            "exchanges": exchanges,
            "grants": grants,
            "participants": participants,
            "women_participants": women,
        }
        if kind == FLOW_TOTAL:
            totals = figures
            continue
        if by == "region":
            a_name, b_name = str(regions.get(a, a)), str(regions.get(b, b))
        rows.append(
            {
                "provider": a,
                "provider_name": a_name,
                "recipient": b,
                "recipient_name": b_name,
                **figures,
            }
        )
    rows.sort(key=lambda row: (-row["exchanges"], row["provider"], row["recipient"]))
    return {"rows": rows, "totals": totals}
