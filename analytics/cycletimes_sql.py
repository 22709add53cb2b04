"""The cycle-times report computed by PostgreSQL in one statement.

``cycletimes`` reads each grant's times and counts them in Python: at 20,000 grants that
is 110,000 history rows brought over and walked one by one (seconds on a busy machine).
Here the database does the same work where the rows are: each grant's history in time
order with the next entry's date beside it (``lead``), folded per grant into its first
submission, first decision, closing, returns and the days it waited on its leader and on
the fund; its first disbursement, first exchange held and report dates joined in; then
per group and over all the grants, the counts, ``percentile_cont`` (the same linear
interpolation as ``cycletimes.percentile``) and the grants within each standard. Only a
row per group comes back.

The definitions are ``cycletimes``' (its docstring): the same steps, the same local
dates in the fund's time zone (``AT TIME ZONE`` TIME_ZONE), the same groups, keys and
labels. A percentile of whole days interpolated at a half or a fifth has at most one
decimal, so the double precision ``percentile_cont`` returns rounds to exactly the
digit Python's exact fractions give.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grants.models import (
    Disbursement,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
    GrantStatus,
    Instrument,
)
from partners.models import Region, Sector, Window
from results.models import CompletionReport

from .models import GrantCycleDirty, GrantCycleFacts
from .steps import (
    DECISIONS,
    FUND_STATUSES,
    LEADER_STATUSES,
    ONE_PLACE,
    STEPS,
    TWO_PLACES,
    WAITS,
    _band,
    _size_bands,
    service_standards,
)


def _literal(value: str) -> str:
    """An enum value (never user input) as an SQL string literal."""
    assert value.replace("_", "").isalnum(), value
    return f"'{value}'"


def _in(values) -> str:
    return "(" + ", ".join(_literal(str(v)) for v in sorted(values)) + ")"


def _tables() -> dict[str, str]:
    return {
        "grant": Grant._meta.db_table,
        "history": GrantHistory._meta.db_table,
        "disbursement": Disbursement._meta.db_table,
        "exchange": Exchange._meta.db_table,
        "report": CompletionReport._meta.db_table,
        "sector": Sector._meta.db_table,
        "window": Window._meta.db_table,
        "facts": GrantCycleFacts._meta.db_table,
        "dirty": GrantCycleDirty._meta.db_table,
    }


def _group_key(group_by: str, t: dict[str, str]) -> tuple[str, str, str]:
    """(joins, key expression, extra expression) of a grouping over the grants ``t``."""
    if group_by == "region":
        return "", "t.region", "NULL"
    if group_by == "sector":
        return f"JOIN {t['sector']} s ON s.code = t.sector_id", "t.sector_id", "s.name"
    if group_by == "instrument":
        joins = (
            f"LEFT JOIN (SELECT DISTINCT grant_id, instrument FROM {t['exchange']} "
            f"WHERE status <> {_literal(ExchangeStatus.CANCELLED)}) i ON i.grant_id = t.id"
        )
        return joins, "COALESCE(i.instrument, 'none')", "NULL"
    if group_by == "window":
        joins = f"LEFT JOIN {t['window']} w ON w.id = t.window_id"
        return joins, "COALESCE(w.code, '~none')", "w.name"
    if group_by == "size_band":
        low, cases = 0, []
        for high in _size_bands():
            cases.append(f"WHEN t.amount < {int(high)} THEN '{low}'")
            low = int(high)
        return "", f"CASE {' '.join(cases)} ELSE '{low}' END", "NULL"
    if group_by == "quarter":
        # A number (year * 10 + quarter) to sort by, named ``2026-Q1`` once grouped
        # (``_shown``); ``extract``, not ``to_char``, which turns each date into a time.
        return (
            "",
            "extract(year FROM t.submitted)::int * 10 + extract(quarter FROM t.submitted)::int",
            "NULL",
        )
    raise ValueError(group_by)


def _shown(group_by: str) -> str:
    """The group's key as the report names it, from the key grouped by (a number for a
    quarter; the others are text, sorted by byte (``COLLATE "C"``): their order here is
    not the report's, and a byte comparison costs less than a collation's)."""
    if group_by == "quarter":
        return "(key / 10) || '-Q' || mod(key, 10)"
    return "key"


def _measures(standards: dict[str, int]) -> str:
    parts = ["count(*)"]
    for step in STEPS:
        standard = standards.get(step)
        within = (
            f"count(*) FILTER (WHERE {step} <= {int(standard)})" if standard is not None else "0"
        )
        parts += [
            f"count({step})",
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {step})",
            f"percentile_cont(0.8) WITHIN GROUP (ORDER BY {step})",
            within,
        ]
    parts.append("sum(returns)")
    for wait in WAITS:
        parts += [
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {wait})",
            f"percentile_cont(0.8) WITHIN GROUP (ORDER BY {wait})",
        ]
    return ", ".join(parts)


def _facts_statement() -> str:
    """The statement computing the facts (``GrantCycleFacts``) of the grants whose ids
    are its first parameter, in the time zone its second, into the facts table."""
    t = _tables()
    local = "(({column}) AT TIME ZONE %(zone)s)::date"
    ids = "grant_id = ANY(%(ids)s)"
    return f"""
WITH h AS (
    SELECT grant_id, to_status, at, id, {local.format(column="at")} AS day,
           lead({local.format(column="at")}) OVER (PARTITION BY grant_id ORDER BY at, id)
               AS next_day
    FROM {t["history"]} WHERE {ids}
),
f AS (
    SELECT grant_id,
        min(day) FILTER (WHERE to_status = {_literal(GrantStatus.SUBMITTED)}) AS submitted,
        min(day) FILTER (WHERE to_status IN {_in(DECISIONS)}) AS decided,
        (array_agg(to_status ORDER BY at, id)
            FILTER (WHERE to_status IN {_in(DECISIONS)}))[1] AS decision,
        min(day) FILTER (WHERE to_status = {_literal(GrantStatus.CLOSED)}) AS closed,
        count(*) FILTER (WHERE to_status IN {_in(LEADER_STATUSES)}) AS returns,
        sum(next_day - day) FILTER (
            WHERE to_status IN {_in(LEADER_STATUSES)} AND next_day IS NOT NULL
        ) AS waiting_on_leader,
        sum(next_day - day) FILTER (
            WHERE to_status IN {_in(FUND_STATUSES)} AND next_day IS NOT NULL
        ) AS waiting_on_fund
    FROM h GROUP BY grant_id
),
d AS (
    SELECT grant_id, min(disbursed_on) AS first FROM {t["disbursement"]}
    WHERE reverses_id IS NULL AND {ids} GROUP BY grant_id
),
e AS (
    SELECT grant_id, min(start_date) AS first FROM {t["exchange"]}
    WHERE status = {_literal(ExchangeStatus.HELD)} AND {ids} GROUP BY grant_id
)
INSERT INTO {t["facts"]} (grant_id, zone, region, sector_id, window_id, amount,
    planned_end, submitted, decided, approved, closed, returns,
    waiting_on_leader, waiting_on_fund, first_disbursed, first_exchange, report_submitted,
    report_accepted)
SELECT f.grant_id, %(zone)s, g.region, g.sector_id, g.window_id,
    COALESCE(g.approved_usd, g.requested_usd), g.planned_end, f.submitted, f.decided,
    CASE WHEN f.decision = {_literal(GrantStatus.APPROVED)} THEN f.decided END,
    f.closed, f.returns, f.waiting_on_leader, f.waiting_on_fund, d.first, e.first,
    {local.format(column="r.submitted_at")}, {local.format(column="r.accepted_at")}
FROM f
JOIN {t["grant"]} g ON g.id = f.grant_id
LEFT JOIN d ON d.grant_id = f.grant_id
LEFT JOIN e ON e.grant_id = f.grant_id
LEFT JOIN {t["report"]} r ON r.grant_id = f.grant_id
WHERE f.submitted IS NOT NULL
"""


# What the percentiles may sort in memory, for the report's transaction: every grant's
# days (some 20 MB at 200,000 grants), not sorted in files at the default 4 MB.
WORK_MEM = "32MB"


# The transaction-level advisory lock the refreshes of the facts take (a fixed key).
REFRESH_LOCK = 0x5EE7F001


def refresh_cycle_facts() -> int:
    """Compute again the facts of the grants the triggers noted (analytics 0001), and of
    every grant when the facts were computed in another time zone than TIME_ZONE; and
    give the rest of the transaction ``WORK_MEM``. Call it in a transaction.

    The grants noted are taken (``DELETE ... RETURNING``: a report refreshing at the
    same time waits for this one and finds them gone), and, under ``REFRESH_LOCK``,
    their facts deleted and computed
    again from what the next statements see, which is at least what was committed when
    they were noted. A change committed meanwhile notes its grant again, for the next
    report. With nothing noted: one statement, on an empty table and an index. The
    number of grants whose facts were computed again."""
    t = _tables()
    zone = timezone.get_default_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {t['dirty']} RETURNING grant_id) "
            "SELECT set_config('work_mem', %s, true), ARRAY(SELECT DISTINCT grant_id FROM gone), "
            f"EXISTS (SELECT 1 FROM {t['facts']} WHERE zone < %s) "
            f"OR EXISTS (SELECT 1 FROM {t['facts']} WHERE zone > %s)",
            [WORK_MEM, zone, zone],
        )
        _, ids, other_zone = cursor.fetchone()
        ids = set(ids)
        if other_zone:
            cursor.execute(f"DELETE FROM {t['facts']}")
            cursor.execute(f"SELECT DISTINCT grant_id FROM {t['history']}")
            ids |= {row[0] for row in cursor.fetchall()}
        if not ids:
            return 0
        # One refresh at a time (to the end of its transaction): two reports may hold
        # the same grant (noted twice, each taking one note), and two writers of one
        # grant's facts would collide on its key. The next waits, then deletes what
        # this one wrote and writes it again from what it sees.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        ids = sorted(ids)
        cursor.execute(f"DELETE FROM {t['facts']} WHERE grant_id = ANY(%s)", [ids])
        cursor.execute(_facts_statement(), {"ids": ids, "zone": zone})
    return len(ids)


# The groupings in which every grant is in exactly one group: the totals are the same
# sort's last level (``ROLLUP``), not a second pass over the grants.
_ONE_GROUP_EACH = ("region", "window", "size_band", "quarter")


def _statement(group_by: str, standards: dict[str, int]) -> str:
    """The statement over the kept facts (``refresh_cycle_facts``), with ``__SCOPED__``
    where the scoped grants' ids go (``_bind``)."""
    t = _tables()
    joins, key, extra = _group_key(group_by, t)
    measures = _measures(standards)
    if group_by != "quarter":
        key = f'({key}) COLLATE "C"'
    shown = _shown(group_by)
    facts = f"""
WITH t AS (
    SELECT f.grant_id AS id, f.region, f.sector_id, f.window_id, f.amount, f.submitted,
        f.decided - f.submitted AS submit_to_decision,
        f.first_disbursed - f.approved AS decision_to_first_disbursement,
        f.first_exchange - f.approved AS decision_to_first_exchange,
        f.report_submitted - f.planned_end AS end_to_report,
        f.report_accepted - f.report_submitted AS report_to_acceptance,
        f.closed - f.submitted AS submit_to_close,
        f.returns, f.waiting_on_leader, f.waiting_on_fund
    FROM {t["facts"]} f
    WHERE f.grant_id IN (__SCOPED__)
),
k AS (SELECT t.*, {key} AS key, {extra} AS extra FROM t {joins})"""
    if group_by in _ONE_GROUP_EACH:
        # (The key is never null in these groupings: the null one is the totals'.)
        return f"{facts}\nSELECT {shown}, max(extra), {measures} FROM k GROUP BY ROLLUP (key)\n"
    return f"""{facts}
SELECT {shown}, max(extra), {measures} FROM k GROUP BY key
UNION ALL
SELECT NULL, NULL, {measures} FROM t
"""


def _days(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value)).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def _statistics(values: list, standards: dict[str, int]) -> dict:
    """One result row's measures (``_measures``' order) as ``cycletimes.statistics``
    gives them."""
    values = iter(values)
    grants = next(values)
    out: dict = {"grants": grants}
    for step in STEPS:
        count, median, p80, within = (next(values) for _ in range(4))
        out[f"{step}_count"] = count
        out[f"{step}_median_days"] = _days(median)
        out[f"{step}_p80_days"] = _days(p80)
        share = None
        if standards.get(step) is not None and count:
            share = (Decimal(within * 100) / count).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)
        out[f"{step}_within_standard_percent"] = share
    returns = next(values) or 0
    out["returns"] = (
        (Decimal(returns) / grants).quantize(TWO_PLACES, rounding=ROUND_HALF_UP) if grants else None
    )
    for wait in WAITS:
        out[f"{wait}_median_days"] = _days(next(values))
        out[f"{wait}_p80_days"] = _days(next(values))
    return out


def _label(group_by: str, key: str, extra) -> tuple[str, str, str]:
    """(sort key, group, label) as ``cycletimes.GROUPINGS`` name a group."""
    if group_by == "region":
        return key, key, str(Region(key).label)
    if group_by == "sector":
        return key, key, f"{key} {extra}"
    if group_by == "instrument":
        if key == "none":
            return key, key, _("No exchange")
        return key, key, str(Instrument(key).label)
    if group_by == "window":
        return key, key, extra if key != "~none" else _("No window")
    if group_by == "size_band":
        sort, label = _band(int(key))
        return sort, sort.split(":", 1)[1], label
    return key, key, key


def _bind(statement: str, grants) -> tuple[str, list]:
    """The statement with the scoped grants' query (a subquery in each place, so that
    the planner sees how many rows each gives) and the time zone, and its parameters."""
    ids_sql, ids_params = grants.order_by().values("pk").query.sql_with_params()
    zone = timezone.get_default_timezone_name()
    parts = re.split(r"(__SCOPED__|__ZONE__)", statement)
    params: list = []
    for index, part in enumerate(parts):
        if part == "__SCOPED__":
            parts[index] = ids_sql
            params += ids_params
        elif part == "__ZONE__":
            parts[index] = "%s"
            params.append(zone)
    return "".join(parts), params


def cycle_times_postgres(grants, group_by: str) -> dict:
    """``cycletimes.cycle_times_report`` in one query."""
    standards = service_standards()
    statement, params = _bind(_statement(group_by, standards), grants)
    # (No savepoint in a transaction already open: two statements fewer.)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        refresh_cycle_facts()
        cursor.execute(statement, params)
        found = cursor.fetchall()
    rows, totals = [], None
    for key, extra, *values in found:
        if key is None:
            totals = _statistics(values, standards)
            continue
        sort, group, label = _label(group_by, key, extra)
        rows.append((sort, {"group": group, "label": label, **_statistics(values, standards)}))
    rows.sort(key=lambda pair: pair[0])
    return {"rows": [row for _, row in rows], "totals": totals, "standards": standards}
