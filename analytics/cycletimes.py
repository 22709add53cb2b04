"""How long each step of a grant takes, computed from the grant's own records.

Nothing here is typed in: every time is read from what the workflow already records,

- the grant's history (``GrantHistory``: each status change with its time ``at``),
- its disbursements (``disbursed_on``; reversing entries are not a first disbursement),
- its exchanges held (``start_date``),
- its completion report (``submitted_at``, ``accepted_at``) and ``planned_end``.

The steps (API.md, Process and portfolio analytics):

| step | from | to |
|---|---|---|
| ``submit_to_decision`` | the first submission | the first approval or rejection |
| ``decision_to_first_disbursement`` | the approval | the first disbursement |
| ``decision_to_first_exchange`` | the approval | the first exchange held starts |
| ``end_to_report`` | the planned end | the completion report submitted |
| ``report_to_acceptance`` | the report submitted | the report accepted |
| ``submit_to_close`` | the first submission | the grant closed |

A step counts for a grant once it has finished (a grant still open counts in the steps it
finished only). Days are calendar days in the fund's time zone (``TIME_ZONE``): a time is
turned into its local date, and a step lasts the difference of the two dates, so a
change to or from daylight-saving time never makes a day of 23 or 25 hours count as
anything but a day. A step can be negative (a report submitted before the planned end,
an exchange held before the approval was recorded) and is counted as it is.

Besides the steps, ``returns`` (how often a grant was returned to its leader, the mean
per grant) and how long the grant waited on its leader (days in ``returned``) and on the
fund (days in ``submitted`` and ``under_review``), over the stays that ended.

Queries: one for the grants with their step times (subqueries), one streaming their
history, and, to group by instrument, one for the instruments used: whatever the size of
the portfolio. Medians and 80th percentiles are computed in Python over the values (the
same linear interpolation as PostgreSQL's ``PERCENTILE_CONT``), so SQLite and PostgreSQL
give the same answer to the digit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db import connection
from django.db.models import (
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grants.models import (
    Disbursement,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
    GrantStatus,
    Instrument,
)
from partners.models import Region
from seetf.common.prepared import Prepared
from seetf.common.timestamps import fund_date

from .cycletimes_sql import cycle_times_postgres
from .steps import (
    DECISIONS,
    FUND_STATUSES,
    LEADER_STATUSES,
    ONE_PLACE,
    STEP_LABELS,
    STEPS,
    TWO_PLACES,
    WAITS,
    _band,
    _size_bands,
    service_standards,
)


def percentile(values: list[int], fraction: Fraction) -> Decimal | None:
    """The ``fraction`` percentile of ``values`` by linear interpolation between the
    closest ranks (PostgreSQL's ``PERCENTILE_CONT``), to one decimal place."""
    if not values:
        return None
    ordered = sorted(values)
    position = Fraction(fraction) * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    exact = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        ONE_PLACE, rounding=ROUND_HALF_UP
    )


MEDIAN = Fraction(1, 2)
P80 = Fraction(4, 5)


# --- Each grant's facts ----------------------------------------------------------------------


@dataclass
class GrantTimes:
    """What one grant's records say of its steps, in local dates."""

    id: int
    row: dict
    submitted: date | None = None
    decided: date | None = None
    approved: date | None = None
    closed: date | None = None
    returns: int = 0
    waits: dict = field(default_factory=lambda: {name: 0 for name in WAITS})
    waited: set = field(default_factory=set)

    _steps: dict | None = None

    def steps(self) -> dict[str, int | None]:
        """Each step's days, or None where it has not finished (computed once)."""
        if self._steps is None:
            self._steps = self._compute_steps()
        return self._steps

    def _compute_steps(self) -> dict[str, int | None]:
        row = self.row
        zone = timezone.get_default_timezone()
        report_submitted = fund_date(row["report_submitted_at"], zone)
        report_accepted = fund_date(row["report_accepted"], zone)

        def days(start, end):
            return None if start is None or end is None else (end - start).days

        return {
            "submit_to_decision": days(self.submitted, self.decided),
            "decision_to_first_disbursement": days(self.approved, row["first_disbursed_on"]),
            "decision_to_first_exchange": days(self.approved, row["first_exchange_on"]),
            "end_to_report": days(row["planned_end"], report_submitted),
            "report_to_acceptance": days(report_submitted, report_accepted),
            "submit_to_close": days(self.submitted, self.closed),
        }


def _first_disbursement():
    return Subquery(
        Disbursement.objects.filter(grant=OuterRef("pk"), reverses__isnull=True)
        .order_by()
        .values("grant")
        .annotate(first=Min("disbursed_on"))
        .values("first")[:1]
    )


def _first_exchange():
    return Subquery(
        Exchange.objects.filter(grant=OuterRef("pk"), status=ExchangeStatus.HELD)
        .order_by()
        .values("grant")
        .annotate(first=Min("start_date"))
        .values("first")[:1]
    )


def submitted_grants(grants):
    """The grants that were ever submitted (a draft has no cycle yet)."""
    return grants.filter(
        Exists(GrantHistory.objects.filter(grant=OuterRef("pk"), to_status=GrantStatus.SUBMITTED))
    )


def grant_times(grants, extra_fields: Iterable[str] = ()) -> dict[int, GrantTimes]:
    """Each submitted grant of ``grants`` with its step times: two queries (the grants
    with their first disbursement, first exchange and report times; their history, read
    as a stream in time order)."""
    grants = submitted_grants(grants)
    rows = (
        grants.order_by()
        .annotate(first_disbursed_on=_first_disbursement(), first_exchange_on=_first_exchange())
        .values(
            "id",
            "planned_end",
            "first_disbursed_on",
            "first_exchange_on",
            *extra_fields,
            report_submitted_at=F("completion_report__submitted_at"),
            report_accepted=F("completion_report__accepted_at"),
        )
    )
    times = {row["id"]: GrantTimes(id=row["id"], row=row) for row in rows}
    history = (
        GrantHistory.objects.filter(grant__in=grants.values("pk"))
        .order_by("grant_id", "at", "id")
        .values_list("grant_id", "at", "to_status")
    )
    current, previous = None, None
    zone = timezone.get_default_timezone()
    for grant_id, at, to_status in history.iterator(chunk_size=5000):
        entry = times.get(grant_id)
        if entry is None:
            continue
        day = fund_date(at, zone)
        if current is not entry:
            current, previous = entry, None
        if previous is not None:
            # The stay in the previous status ended now.
            status, since = previous
            if status in LEADER_STATUSES:
                entry.waits["waiting_on_leader"] += (day - since).days
                entry.waited.add("waiting_on_leader")
            elif status in FUND_STATUSES:
                entry.waits["waiting_on_fund"] += (day - since).days
                entry.waited.add("waiting_on_fund")
        if to_status == GrantStatus.SUBMITTED and entry.submitted is None:
            entry.submitted = day
        elif to_status in DECISIONS and entry.decided is None:
            entry.decided = day
            if to_status == GrantStatus.APPROVED:
                entry.approved = day
        elif to_status == GrantStatus.CLOSED and entry.closed is None:
            entry.closed = day
        if to_status == GrantStatus.RETURNED:
            entry.returns += 1
        previous = (to_status, day)
    return times


# --- Groups ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grouping:
    """One way of grouping the grants (``?group_by=``): the columns it reads with each
    grant (``fields``), and ``keys(times)`` giving the ``(group, label)`` pairs a grant
    belongs to (several for ``instrument``: each one its exchanges used). ``prepare``
    may read what the keys need in one more query. Groups are listed in key order."""

    fields: tuple[str, ...] = ()
    keys: Callable[[GrantTimes, dict], list[tuple[str, str]]] = lambda times, extra: []
    prepare: Callable | None = None


def _size_band(row) -> tuple[str, str]:
    amount = row["approved_usd"] if row["approved_usd"] is not None else row["requested_usd"]
    low = 0
    for high in _size_bands():
        if amount < high:
            break
        low = high
    return _band(low)


def _quarter(times: GrantTimes) -> tuple[str, str]:
    day = times.submitted
    name = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return name, name


def _instruments(grants) -> dict[int, list[str]]:
    pairs = (
        Exchange.objects.filter(grant__in=grants.values("pk"))
        .exclude(status=ExchangeStatus.CANCELLED)
        .order_by()
        .values_list("grant_id", "instrument")
        .distinct()
    )
    used = defaultdict(list)
    for grant_id, instrument in pairs:
        used[grant_id].append(instrument)
    return used


GROUPINGS: dict[str, Grouping] = {
    "region": Grouping(
        fields=("region",),
        keys=lambda t, extra: [(t.row["region"], str(Region(t.row["region"]).label))],
    ),
    "sector": Grouping(
        fields=("sector_id", "sector__name"),
        keys=lambda t, extra: [
            (t.row["sector_id"], f"{t.row['sector_id']} {t.row['sector__name']}")
        ],
    ),
    "instrument": Grouping(
        prepare=_instruments,
        keys=lambda t, extra: (
            [(name, str(Instrument(name).label)) for name in sorted(extra.get(t.id, []))]
            or [("none", str(_("No exchange")))]
        ),
    ),
    "size_band": Grouping(
        fields=("approved_usd", "requested_usd"),
        keys=lambda t, extra: [_size_band(t.row)],
    ),
    "quarter": Grouping(keys=lambda t, extra: [_quarter(t)]),
}

# The funding window a grant names (grants outside every window: "No window").
GROUPINGS["window"] = Grouping(
    fields=("window__code", "window__name"),
    keys=lambda t, extra: [
        (t.row["window__code"], t.row["window__name"])
        if t.row["window__code"]
        else ("~none", str(_("No window")))
    ],
)

GROUP_BY_CHOICES = ("region", "sector", "instrument", "window", "size_band", "quarter")


# --- Statistics ------------------------------------------------------------------------------


def step_columns() -> list[str]:
    """The columns of a row after ``group``, ``label`` and ``grants``, in order."""
    columns = []
    for step in STEPS:
        columns += [
            f"{step}_count",
            f"{step}_median_days",
            f"{step}_p80_days",
            f"{step}_within_standard_percent",
        ]
    columns.append("returns")
    for wait in WAITS:
        columns += [f"{wait}_median_days", f"{wait}_p80_days"]
    return columns


def statistics(entries: list[GrantTimes], standards: dict[str, int]) -> dict:
    """The medians, 80th percentiles, counts and shares within standard of the steps,
    the mean returns and the waits, over ``entries``."""
    values = {step: [] for step in STEPS}
    waits = {wait: [] for wait in WAITS}
    returns = 0
    for entry in entries:
        for step, days in entry.steps().items():
            if days is not None:
                values[step].append(days)
        for wait in WAITS:
            if wait in entry.waited:
                waits[wait].append(entry.waits[wait])
        returns += entry.returns
    out: dict = {"grants": len(entries)}
    for step in STEPS:
        found = values[step]
        out[f"{step}_count"] = len(found)
        out[f"{step}_median_days"] = percentile(found, MEDIAN)
        out[f"{step}_p80_days"] = percentile(found, P80)
        standard = standards.get(step)
        within = None
        if standard is not None and found:
            share = Decimal(sum(1 for days in found if days <= standard) * 100) / len(found)
            within = share.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)
        out[f"{step}_within_standard_percent"] = within
    out["returns"] = (
        (Decimal(returns) / len(entries)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        if entries
        else None
    )
    for wait in WAITS:
        out[f"{wait}_median_days"] = percentile(waits[wait], MEDIAN)
        out[f"{wait}_p80_days"] = percentile(waits[wait], P80)
    return out


def cycle_times_report(grants, group_by: str = "quarter") -> dict:
    """A row per group (``GROUPINGS``) with its statistics, and the same statistics over
    all the grants as totals. ``grants`` is already scoped to the user and filtered.

    On PostgreSQL the database computes it all in one statement (``cycletimes_sql``);
    elsewhere (SQLite: the embedded demo) the grants' times are read and counted here.
    Both give the same answer to the digit (``tests/perf/test_analytics_sql.py``)."""
    if connection.vendor == "postgresql":
        return cycle_times_postgres(grants, group_by)
    return cycle_times_python(grants, group_by)


def cycle_times_python(grants, group_by: str = "quarter") -> dict:
    """``cycle_times_report`` computed here, from the grants' times."""
    grouping = GROUPINGS[group_by]
    standards = service_standards()
    times = grant_times(grants, grouping.fields)
    extra = grouping.prepare(grants) if grouping.prepare else {}
    groups: dict[str, tuple[str, list]] = {}
    for entry in times.values():
        for key, label in grouping.keys(entry, extra):
            groups.setdefault(key, (label, []))[1].append(entry)
    rows = []
    for key in sorted(groups):
        label, entries = groups[key]
        group = key.split(":", 1)[1] if group_by == "size_band" else key
        rows.append({"group": group, "label": label, **statistics(entries, standards)})
    totals = statistics(list(times.values()), standards)
    return {"rows": rows, "totals": totals, "standards": standards}


# --- Overdue against the standards -----------------------------------------------------------

OPEN_STATUSES = (
    GrantStatus.SUBMITTED,
    GrantStatus.UNDER_REVIEW,
    GrantStatus.RETURNED,
    GrantStatus.APPROVED,
    GrantStatus.COMPLETED,
)


def _overdue_walks(grants, standards: dict[str, int], limit: int) -> Q:
    """The grants holding the first ``limit`` items of the overdue list: for each step
    with a standard, the first ``limit`` grants at that step, by (``since``, id), as the
    list orders its items (the rules of ``overdue_against_standards``, in SQL). The
    list's first ``limit`` items are items of these grants: an item among them comes
    before the ``limit``-th of its own step, and a grant not yet overdue at a step sorts
    after every grant that is (so no walk needs the standard: what is not overdue gives
    no item). Each walk reads the grants at its step's status only (the pipeline, the
    approved grants, the completed ones whose report waits), never every open grant; on
    PostgreSQL the walks are one subquery, whose few ids the grants are read by.

    The steps begin at the first submission's and approval's local dates, kept on the
    grant (``Grant.first_submitted_on``, ``first_approved_on``): each walk reads a
    partial index in its order, ``(date, id)`` as the list's, and stops at the limit
    (grants 0018), where computing each grant's first history row meant computing it
    for every grant at the status and sorting them. The reports waiting for acceptance
    are walked likewise by what the grant keeps of its report
    (``Grant.report_submitted_on``, ``report_accepted_at``, grants 0019), which the
    list reads too, not by joining every waiting report and sorting it by its time's
    local date."""
    submitted = F("first_submitted_on")
    approved = F("first_approved_on")
    approved_grants = grants.filter(status=GrantStatus.APPROVED)
    walks = {
        "submit_to_decision": (
            grants.filter(status__in=(GrantStatus.SUBMITTED, GrantStatus.UNDER_REVIEW)),
            submitted,
        ),
        "decision_to_first_disbursement": (
            # A grant with no disbursement has nothing disbursed (the services keep
            # ``disbursed_usd`` as the disbursements less their reversals): the condition
            # finds no fewer grants, and lets the walk read the few approved grants with
            # nothing disbursed (their own index), not probe every approved one.
            approved_grants.filter(disbursed_usd=0).exclude(
                Exists(Disbursement.objects.filter(grant=OuterRef("pk"), reverses__isnull=True))
            ),
            approved,
        ),
        "decision_to_first_exchange": (
            approved_grants.exclude(
                Exists(Exchange.objects.filter(grant=OuterRef("pk"), status=ExchangeStatus.HELD))
            ),
            approved,
        ),
        "end_to_report": (
            approved_grants.exclude(
                Exists(
                    Grant.completion_report.related.related_model.objects.filter(
                        grant=OuterRef("pk"), submitted_at__isnull=False
                    )
                )
            ),
            F("planned_end"),
        ),
        "report_to_acceptance": (
            grants.filter(
                status=GrantStatus.COMPLETED,
                report_submitted_on__isnull=False,
                report_accepted_at__isnull=True,
            ),
            F("report_submitted_on"),
        ),
        "submit_to_close": (grants.filter(status__in=OPEN_STATUSES), submitted),
    }
    firsts = [
        queryset.annotate(since=since)
        .order_by(F("since").asc(nulls_last=True), "id")
        .values("id")[:limit]
        for step, (queryset, since) in walks.items()
        if step in standards
    ]
    if connection.vendor == "postgresql" and len(firsts) > 1:
        return Q(pk__in=firsts[0].union(*firsts[1:], all=True))
    found = Q(pk__in=[])
    for first in firsts:
        found |= Q(pk__in=first)
    return found


# The limited statements compiled, by the name of the grants they read, the steps with
# a standard, the limit and the time zone (``overdue_against_standards(shared=)``).
_OVERDUE_STATEMENTS: dict[tuple, Prepared] = {}


def _steps_begun(grants, standards: dict[str, int], limit: int | None):
    """The open grants of ``grants`` with the times their current steps began (with
    ``limit``, only those ``_overdue_walks`` finds), as rows."""
    from django.contrib.auth import get_user_model

    username = f"task_team_leader__{get_user_model().USERNAME_FIELD}"
    steps_begun = (
        grants.filter(status__in=OPEN_STATUSES)
        .order_by()
        .annotate(
            disbursed=Exists(
                Disbursement.objects.filter(grant=OuterRef("pk"), reverses__isnull=True)
            ),
            exchanged=Exists(
                Exchange.objects.filter(grant=OuterRef("pk"), status=ExchangeStatus.HELD)
            ),
        )
    )
    rows = steps_begun.values(
        "id",
        "reference",
        "title",
        "status",
        "planned_end",
        "first_submitted_on",
        "first_approved_on",
        "report_submitted_on",
        "report_accepted_at",
        "disbursed",
        "exchanged",
        leader=F(username),
        report_submitted_at=F("completion_report__submitted_at"),
    )
    if limit is not None:
        rows = rows.filter(_overdue_walks(grants, standards, limit))
    return rows


def overdue_against_standards(
    grants, *, today: date | None = None, limit: int | None = None, shared: str | None = None
) -> list[dict]:
    """Every step an open grant has been in for longer than its service standard, the
    oldest first: one query (the open grants with the times their current steps began).
    With ``limit``, the first ``limit`` of them only, in the same one query: only the
    grants that may hold them are read (``_overdue_walks``), so a home page's short list
    costs what a few grants do, not what every open grant does.

    A step is owed while it has not finished: a decision while the proposal is
    submitted or under review (a returned proposal waits on its leader, not the fund), a
    first disbursement and a first exchange while approved, the report from the planned
    end while approved, its acceptance while completed, the closing while open at all.

    ``shared`` names ``grants`` when every user with that name sees the same grants
    (``grants.selectors.visibility_key`` of a fund manager): the limited statement, whose
    walks cost the ORM more to build and compile than the database takes to run them, is
    then compiled once per name (``seetf.common.prepared``) and run again.
    """
    standards = service_standards()
    if not standards:
        return []
    today = today or timezone.localdate()
    if limit and shared is not None:  # (a limit of 0 compiles to nothing: EmptyResultSet)
        key = (shared, tuple(sorted(standards)), limit, timezone.get_default_timezone_name())
        statement = _OVERDUE_STATEMENTS.get(key)
        if statement is None:
            statement = Prepared(lambda: _steps_begun(grants, standards, limit))
            _OVERDUE_STATEMENTS[key] = statement
        rows = statement.rows()
    else:
        rows = _steps_begun(grants, standards, limit)
    found = []
    for row in rows:
        status = row["status"]
        submitted = row["first_submitted_on"]
        approved = row["first_approved_on"]
        owed = []
        if status in (GrantStatus.SUBMITTED, GrantStatus.UNDER_REVIEW):
            owed.append(("submit_to_decision", submitted))
        if status == GrantStatus.APPROVED:
            if not row["disbursed"]:
                owed.append(("decision_to_first_disbursement", approved))
            if not row["exchanged"]:
                owed.append(("decision_to_first_exchange", approved))
            if row["report_submitted_at"] is None:
                owed.append(("end_to_report", row["planned_end"]))
        if status == GrantStatus.COMPLETED and row["report_accepted_at"] is None:
            owed.append(("report_to_acceptance", row["report_submitted_on"]))
        owed.append(("submit_to_close", submitted))
        for step, since in owed:
            standard = standards.get(step)
            if standard is None or since is None:
                continue
            days = (today - since).days
            if days > standard:
                found.append(
                    {
                        "grant": row["id"],
                        "reference": row["reference"],
                        "title": row["title"],
                        "leader": row["leader"],
                        "status": status,
                        "step": step,
                        # Translated once the list is cut (below): the walks read some
                        # four times the items a limited list keeps.
                        "step_label": STEP_LABELS[step],
                        "since": since,
                        "days": days,
                        "standard_days": standard,
                        "days_over": days - standard,
                    }
                )
    found.sort(key=lambda item: (item["since"], item["grant"], STEPS.index(item["step"])))
    found = found if limit is None else found[:limit]
    for item in found:
        item["step_label"] = str(item["step_label"])
    return found
