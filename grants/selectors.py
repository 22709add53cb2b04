"""Reads for grants that are more than a filter: the fund summary, scoping, reports, each
role's part of the home page, and grants read as rows."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Case, DecimalField, F, Func, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from audit.models import AuditEntry
from partners.models import (
    WINDOW_MOVEMENT_SIGN,
    Contribution,
    Country,
    Fund,
    FundAlert,
    Receipt,
    Sector,
    Window,
    WindowApprover,
    WindowMovement,
)
from partners.permissions import can_read_alerts
from partners.roles import Role, is_fund_manager, remember_roles, user_roles
from partners.selectors import fund_pledged_usd
from seetf.common.money import MONEY, ZERO, to_cents
from seetf.common.prepared import Prepared

from . import workflow
from .models import (
    APPROVED_AND_LATER,
    PIPELINE_STATUSES,
    CapacityOutcome,
    Disbursement,
    Exchange,
    Grant,
    GrantHistory,
    GrantStatus,
    GrantStatusCount,
    Reminder,
)
from .permissions import can_create_grant


def _total(queryset, field: str):
    """A scalar subquery: SUM(field) over the queryset, zero when empty."""
    total = queryset.order_by().values(
        total=Func(F(field), function="SUM", output_field=DecimalField(**MONEY))
    )
    return Coalesce(Subquery(total), Value(ZERO), output_field=DecimalField(**MONEY))


def _fund_ledger():
    """The ledger row with the pledged and pipeline sums (fund_summary's one query)."""
    return (
        Fund.objects.filter(pk=1)
        .annotate(
            pledged=_total(Contribution.objects.all(), "pledged_usd"),
            pipeline=_total(Grant.objects.in_pipeline(), "requested_usd"),
        )
        .values(
            "received_usd",
            "committed_usd",
            "disbursed_usd",
            "allocated_usd",
            "pledged",
            "pipeline",
        )
        .order_by("pk")[:1]
    )


# Compiled once (seetf.common.prepared): building it cost the fund summary more than
# running it.
_FUND_LEDGER = Prepared(_fund_ledger)


def fund_summary() -> dict:
    """The fund's money, as API.md defines it, in one query.

    received, committed and disbursed come from the ledger row that every money
    movement updates under its lock; pledged and pipeline are sums over pledges and
    over the requests waiting for a decision, computed in the same statement.
    """
    rows = _FUND_LEDGER.rows()
    row = rows[0] if rows else None
    if row is None:  # No ledger row yet: no money has moved.
        fund = Fund()
        pipeline = Grant.objects.in_pipeline().aggregate(total=Sum("requested_usd"))["total"]
        row = {
            "received_usd": fund.received_usd,
            "committed_usd": fund.committed_usd,
            "disbursed_usd": fund.disbursed_usd,
            "allocated_usd": fund.allocated_usd,
            "pledged": fund_pledged_usd(),
            "pipeline": pipeline,
        }
    return {
        "pledged_usd": to_cents(row["pledged"]),
        "received_usd": row["received_usd"],
        "committed_usd": row["committed_usd"],
        "disbursed_usd": row["disbursed_usd"],
        "allocated_usd": row["allocated_usd"],
        # API.md: available = received - committed - allocated.
        "available_usd": row["received_usd"] - row["committed_usd"] - row["allocated_usd"],
        "pipeline_usd": to_cents(row["pipeline"]),
        "low_balance_threshold_usd": settings.FUNDING_ALERT_THRESHOLD_USD,
        "as_of": timezone.now(),
    }


def fund_ledger_from_records() -> dict:
    """The ledger's totals recomputed from the records: received from the receipts,
    committed from the grants' approved less released amounts, disbursed from the
    disbursements, allocated from the windows' movements less what their grants
    committed (``windows_ledger_from_records``). What ``fund_summary`` must always agree
    with (used by tests and by `check_fund`: ``grants.ledger.fund_totals``)."""
    received = Receipt.objects.aggregate(total=Sum("usd_amount"))["total"]
    committed = Grant.objects.committed().aggregate(
        total=Sum(F("approved_usd") - F("released_usd"))
    )["total"]
    disbursed = Disbursement.objects.aggregate(total=Sum("amount_usd"))["total"]
    windows = windows_ledger_from_records()
    return {
        "received_usd": to_cents(received),
        "committed_usd": to_cents(committed),
        "disbursed_usd": to_cents(disbursed),
        "allocated_usd": sum((w["available_usd"] for w in windows.values()), ZERO),
    }


def windows_ledger_from_records() -> dict[int, dict]:
    """Each window's figures recomputed from the records: allocated from its movements
    (``WindowMovement``, signed by kind), committed and disbursed from its grants; what
    each window's row must always agree with."""
    signed = Case(
        *(
            When(kind=kind, then=F("amount_usd") * sign)
            for kind, sign in WINDOW_MOVEMENT_SIGN.items()
        ),
        output_field=DecimalField(**MONEY),
    )
    allocated = dict(
        WindowMovement.objects.order_by()
        .values("window")
        .annotate(total=Sum(signed))
        .values_list("window", "total")
    )
    grants = {
        row["window"]: row
        for row in Grant.objects.committed()
        .filter(window__isnull=False)
        .order_by()
        .values("window")
        .annotate(
            committed=Sum(F("approved_usd") - F("released_usd")), disbursed=Sum("disbursed_usd")
        )
    }
    out = {}
    for window_id in Window.objects.values_list("pk", flat=True):
        row = grants.get(window_id, {})
        figures = {
            "allocated_usd": to_cents(allocated.get(window_id)),
            "committed_usd": to_cents(row.get("committed")),
            "disbursed_usd": to_cents(row.get("disbursed")),
        }
        figures["available_usd"] = figures["allocated_usd"] - figures["committed_usd"]
        out[window_id] = figures
    return out


def grants_visible_to(user):
    """Every grant this user may see, decided in this one place (API.md roles):

    - fund managers: every grant that is not a draft;
    - task team leaders: their own grants at any status, and others' once approved;
    - donors: approved grants and later.

    - window managers: the grants that are not drafts of the funding windows where
      they are an approver.

    Drafts are private to their leader. A user with several roles sees the union.
    """
    if not user or not user.is_authenticated:
        return Grant.objects.none()
    if user.is_superuser:
        return Grant.objects.all()
    roles = user_roles(user)
    condition = Q(pk__in=[])
    if Role.FUND_MANAGER in roles:
        unseen = frozenset(GrantStatus.values) - STATUSES_SEEN[Role.FUND_MANAGER]
        condition |= ~Q(status__in=sorted(unseen))
    if Role.TASK_TEAM_LEADER in roles:
        condition |= Q(task_team_leader=user) | Q(status__in=APPROVED_AND_LATER)
    if Role.DONOR in roles:
        condition |= Q(status__in=sorted(STATUSES_SEEN[Role.DONOR]))
    if Role.WINDOW_MANAGER in roles and Role.FUND_MANAGER not in roles:
        # A subquery, not a join: no duplicates and no extra query.
        condition |= ~Q(status=GrantStatus.DRAFT) & Q(
            window__in=WindowApprover.objects.filter(user=user).values("window")
        )
    return Grant.objects.filter(condition)


# The roles whose grants depend on the status alone, and the statuses each sees
# (``grants_visible_to``'s rule; a leader also sees their own grants, a window manager
# their windows'): their lists are counted from the maintained counts.
STATUSES_SEEN = {
    Role.FUND_MANAGER: frozenset(GrantStatus.values) - {GrantStatus.DRAFT},
    Role.DONOR: frozenset(APPROVED_AND_LATER),
}


def statuses_seen(user, statuses=None) -> frozenset[str] | None:
    """The statuses of the grants ``user`` sees, of ``statuses`` when given, when what
    they see depends on the status alone (a superuser, a fund manager, a donor): then
    ``grants_visible_to(user)`` filtered to ``statuses`` is exactly the grants at these
    statuses, and what the database keeps by status answers for it (the counts,
    ``GrantStatusCount``; the exchange flows, analytics ``FlowTotals``). None when it
    depends on more (a leader's own grants, a window manager's windows)."""
    if user.is_superuser:
        seen = frozenset(GrantStatus.values)
    else:
        roles = user_roles(user)
        if Role.FUND_MANAGER in roles:
            roles = roles - {Role.WINDOW_MANAGER}  # the fund manager's rule covers it
        if not roles or not roles <= STATUSES_SEEN.keys():
            return None
        seen = frozenset().union(*(STATUSES_SEEN[role] for role in roles))
    return seen if statuses is None else seen & frozenset(statuses)


def grant_count_at(statuses) -> int:
    """How many grants are at ``statuses``, from ``GrantStatusCount``."""
    if not statuses:
        return 0
    counts = GrantStatusCount.objects.filter(status__in=sorted(statuses))
    return counts.aggregate(n=Sum("count"))["n"] or 0


def user_shape(user) -> tuple[bool, frozenset[str]]:
    """What the form of ``grants_visible_to(user)``'s statement depends on: whether the
    user is a superuser, and their roles (their id is a value in it)."""
    return user.is_superuser, user_roles(user)


# Beyond a grant's key (bigint) there is no grant: a 404, not a value the database refuses.
LARGEST_GRANT_KEY = 2**63 - 1


def grants_visible_to_shape(shape, user_id):
    """``grants_visible_to`` for the user of this id and ``user_shape``: for a statement
    compiled once per shape, the id a value (``seetf.common.prepared.Prepared.keyed``)."""
    superuser, roles = shape
    someone = get_user_model()(pk=user_id, is_superuser=superuser)
    remember_roles(someone, roles)
    return grants_visible_to(someone)


def exchanges_visible_to(user):
    """The exchanges of the grants this user may see."""
    return Exchange.objects.filter(grant__in=grants_visible_to(user))


def disbursements_visible_to(user):
    """The disbursements of the grants this user may see (the API's rule then admits
    fund managers only)."""
    return Disbursement.objects.filter(grant__in=grants_visible_to(user))


def reminders_visible_to(user):
    """Fund managers see every reminder; anyone else the ones sent to them."""
    if not user or not user.is_authenticated:
        return Reminder.objects.none()
    if is_fund_manager(user):
        return Reminder.objects.all()
    return Reminder.objects.filter(recipient_user=user)


def visible_grant_or_404(user, pk, queryset=None) -> Grant:
    """The grant ``pk`` if this user may see it (read from ``queryset``, for its joins and
    prefetches, when given); else Http404, never a 403: no leak of its existence."""
    grants = grants_visible_to(user)
    if queryset is not None:
        grants = queryset.filter(pk__in=grants.values("pk"))
    return get_object_or_404(grants, pk=pk)


def visibility_key(user) -> str:
    """A name for what ``grants_visible_to(user)`` and the report scoping built on it
    (``results.selectors.reported_grants_visible_to``) give this user: users with the same
    key see the same grants and reports, so a cache may share them. Fund managers (who
    are not also leaders) share one; a leader's own grants, and the reports a non-manager
    may read, depend on who they are, so every other user has their own."""
    if not user or not user.is_authenticated:
        return "anonymous"
    if user.is_superuser:
        return "superuser"
    roles = user_roles(user)
    names = ",".join(sorted(roles))
    if Role.FUND_MANAGER in roles and Role.TASK_TEAM_LEADER not in roles:
        return f"roles:{names}"
    return f"user:{user.pk}:{names}"


def overdue_reports(grants, today):
    """The grants of ``grants`` whose completion report is overdue on ``today``: approved
    (submitting the report moves a grant to completed) and past `completion_report_due`.

    The one condition for "overdue": the fund manager's home lists these, and the
    reminder job owes their leaders an `overdue` reminder (``due < as_of``). On
    PostgreSQL a partial index on approved grants by due date (grants 0006) finds the
    most overdue without reading the closed ones.
    """
    return grants.filter(status=GrantStatus.APPROVED, completion_report_due__lt=today)


# --- Each role's part of the home page ----------------------------------------------------

# How many rows each list of a home page shows before "see all".
HOME_LIMIT = 25

# The order a leader's grants are listed in: what needs them first.
LEADER_STATUS_ORDER = [
    GrantStatus.RETURNED,
    GrantStatus.DRAFT,
    GrantStatus.SUBMITTED,
    GrantStatus.UNDER_REVIEW,
    GrantStatus.APPROVED,
    GrantStatus.COMPLETED,
    GrantStatus.CLOSED,
    GrantStatus.REJECTED,
    GrantStatus.CANCELLED,
]


def _first(queryset, limit=None) -> tuple[list, bool]:
    """The first rows of a list a home page shows, and whether there are more (one
    query: a fund with thousands of grants still gets a short page)."""
    limit = limit or HOME_LIMIT
    rows = list(queryset[: limit + 1])
    return rows[:limit], len(rows) > limit


def _leader_name():
    """The task team leader's name as the pages show it (``get_username()``), read in
    the same query as the grant."""
    return F(f"task_team_leader__{get_user_model().USERNAME_FIELD}")


def manager_home(user) -> dict:
    """The fund manager's desk: the fund's money, open alerts, the review queue,
    overdue completion reports, and reports waiting to be accepted or grants to close.

    Each list is read as rows (``values``) of the columns it shows, not as grants with
    their leader, sector and report: building some 360 model instances, and reading
    every column of each, cost more than the queries. On PostgreSQL the review queue
    and the overdue reports are read from partial indexes in their order (grants 0006),
    26 entries each, instead of sorting every matching grant of a large fund; the two
    lists of completed grants join narrow index entries (grants 0005, results 0004 and
    0005), not whole rows.
    """
    grants = grants_visible_to(user)
    today = timezone.localdate()
    leader = _leader_name()
    review_queue, more_to_review = _first(
        grants.filter(status__in=PIPELINE_STATUSES)
        .order_by("submitted_at", "id")
        .values(
            "id", "reference", "title", "submitted_at", "requested_usd", "status", leader=leader
        )
    )
    for grant in review_queue:
        # includes/status_badge.html reads this from a Grant; a row gives it too.
        grant["get_status_display"] = GrantStatus(grant["status"]).label
    overdue, more_overdue = _first(
        overdue_reports(grants, today)
        .order_by("completion_report_due", "id")
        .values("id", "reference", "title", "completion_report_due", leader=leader)
    )
    for grant in overdue:
        grant["days_overdue"] = (today - grant["completion_report_due"]).days
    completed = grants.filter(status=GrantStatus.COMPLETED)
    # A report waits for a fund manager once submitted and until accepted: what
    # results.services.completion_report_accept accepts.
    to_accept, more_to_accept = _first(
        completed.filter(
            completion_report__submitted_at__isnull=False,
            completion_report__accepted_at__isnull=True,
        )
        .order_by("completion_report__submitted_at", "id")
        .values(
            "id", "reference", "title", report_submitted_at=F("completion_report__submitted_at")
        )
    )
    # By the acceptance the grant keeps (``Grant.report_accepted_at``): its partial index
    # of the completed grants in this order (grants 0019), where the report's would walk
    # through the accepted reports of every closed grant; the report's own acceptance
    # still decides, as above.
    to_close, more_to_close = _first(
        completed.filter(
            report_accepted_at__isnull=False, completion_report__accepted_at__isnull=False
        )
        .order_by("report_accepted_at", "id")
        .values("id", "reference", "title")
    )
    return {
        "fund": fund_summary(),
        "alerts": list(FundAlert.objects.filter(resolved_at__isnull=True).select_related("window"))
        if can_read_alerts(user)[0]
        else [],
        # The open windows' balances (one query).
        "windows": list(Window.objects.filter(status="open").order_by("code")),
        "review_queue": review_queue,
        "more_to_review": more_to_review,
        "overdue_reports": overdue,
        "more_overdue": more_overdue,
        "reports_to_accept": to_accept,
        "more_to_accept": more_to_accept,
        "grants_to_close": to_close,
        "more_to_close": more_to_close,
        "limit": HOME_LIMIT,
        "today": today,
    }


def window_manager_home(user) -> dict:
    """A window manager's desk: the windows where they approve, with their limit and the
    window's balances, and the proposals of those windows waiting for a decision."""
    limits = {
        a.window_id: a.limit_usd
        for a in WindowApprover.objects.filter(user=user).select_related("window")
    }
    windows = list(Window.objects.filter(pk__in=limits).order_by("code"))
    for window in windows:
        window.my_limit = limits[window.pk]
    queue, more = _first(
        grants_visible_to(user)
        .filter(status__in=PIPELINE_STATUSES, window__in=limits)
        .order_by("submitted_at", "id")
        .values(
            "id",
            "reference",
            "title",
            "submitted_at",
            "requested_usd",
            "status",
            window_code=F("window__code"),
            leader=_leader_name(),
        )
    )
    for grant in queue:
        grant["get_status_display"] = GrantStatus(grant["status"]).label
    return {"windows": windows, "review_queue": queue, "more_to_review": more}


# What the leader's part of the home page shows of each grant (home.html): the other
# columns (the summary, the goal, the outcomes) are not read. A field the page comes to
# show must be added here.
LEADER_HOME_FIELDS = ("id", "reference", "title", "status", "completion_report_due")


def leader_home(user) -> dict:
    """The leader's grants by status (returned ones first, with the fund managers'
    comments), and the completion reports they owe.

    Read as rows in one query, like the fund manager's lists: a Grant's
    ``get_status_display`` hashes every status's lazy label on each call, which cost
    more than the query."""
    # The latest return's comment, read for the returned grants only, in the same query.
    last_return = Subquery(
        GrantHistory.objects.filter(grant=OuterRef("pk"), action="return")
        .order_by("-at", "-id")
        .values("comment")[:1]
    )
    mine = list(
        grants_visible_to(user)
        .filter(task_team_leader=user)
        .order_by("-updated_at", "-id")
        .values(
            *LEADER_HOME_FIELDS,
            return_comment=Case(When(status=GrantStatus.RETURNED, then=last_return)),
        )
    )
    labels = {status: GrantStatus(status).label for status in LEADER_STATUS_ORDER}
    by_status = {status: [] for status in LEADER_STATUS_ORDER}
    for grant in mine:
        grant["pk"] = grant["id"]
        # includes/status_badge.html reads this from a Grant; a row gives it too.
        grant["get_status_display"] = labels.get(grant["status"], grant["status"])
        comment = grant.pop("return_comment")
        grant["returns"] = [] if comment is None else [{"comment": comment}]
        by_status.setdefault(grant["status"], []).append(grant)
    groups = [
        {"status": status, "label": GrantStatus(status).label, "grants": grants}
        for status, grants in by_status.items()
        if grants
    ]
    reports_due = sorted(
        (g for g in mine if g["status"] == GrantStatus.APPROVED),
        key=lambda g: (g["completion_report_due"], g["id"]),
    )
    return {
        "groups": groups,
        "count": len(mine),
        "reports_due": reports_due,
        "today": timezone.localdate(),
        "can_propose": can_create_grant(user)[0],
    }


# What the workflow's rules and guards read of a grant, beyond its id, status and leader:
# its completion report's state. A rule or guard that comes to read more of the grant
# adds it here (tests/perf/test_representations.py compares the detail's answer with
# ``allowed_actions`` on the whole grant, over a generated portfolio).
WORKFLOW_COLUMNS = (
    "completion_report__id",
    "completion_report__submitted_at",
    "completion_report__accepted_at",
)


def workflow_grant(row: dict) -> Grant:
    """The grant as the workflow reads it, built from a row of the grant detail (its
    ``id``, ``status``, ``task_team_leader_id``, its window, region, sector and amount
    requested, ``recipient_endorsed_on``, ``partner_roles``, ``provider_countries`` and
    ``WORKFLOW_COLUMNS``): no query."""
    grant = Grant(
        id=row["id"],
        status=row["status"],
        task_team_leader_id=row["task_team_leader_id"],
        # What the funding window's rules and guards read (the window itself, its
        # sectors and the recipients' regions are read only for a grant in a window
        # whose action is otherwise allowed).
        window_id=row["window_id"],
        region=row["region"],
        sector_id=row["sector_id"],
        requested_usd=row["requested_usd"],
        planned_start=row["planned_start"],
        planned_end=row["planned_end"],
        recipient_endorsed_on=row["recipient_endorsed_on"],
    )
    # What the submission's completeness guard reads (workflow.proposal_complete).
    grant._has_recipients = bool(row["recipient_countries"])
    grant._partner_facts = (
        [(role["role"], role["partner_kind"]) for role in row["partner_roles"]],
        bool(row["provider_countries"]),
    )
    report = None
    if row["completion_report__id"] is not None:
        report = Grant.completion_report.related.related_model(
            id=row["completion_report__id"],
            grant_id=row["id"],
            submitted_at=row["completion_report__submitted_at"],
            accepted_at=row["completion_report__accepted_at"],
        )
    Grant.completion_report.related.set_cached_value(grant, report)
    return grant


def allowed_actions(user, grant: Grant) -> list[dict]:
    """Every action of the workflow (``grants.workflow``), in its order, with whether
    this user may take it on this grant now and, if not, why: the same rule, status and
    guards, the same reason and code, as the action itself would answer with
    (``services.grant_transition_check``). The grant page offers the allowed ones; the
    API gives the list as a grant's ``allowed_actions``."""
    rows = []
    for action in workflow.WORKFLOW.values():
        verdict = workflow.evaluate(action, user, grant)
        rows.append(
            {
                "action": action.name,
                "allowed": verdict.allowed,
                "reason": verdict.reason,
                "code": verdict.code,
            }
        )
    return rows


def grant_chain(user, grant: Grant) -> dict:
    """The grants ``grant`` follows on from (``ancestors``, the first first) and those
    that follow on from it, at any depth (``descendants``, generation by generation,
    each with its ``depth``), of those this user may see: what the grant page and
    ``GET /grants/{id}/chain/`` show. One query per generation walked (a chain is a
    few grants long), none for a grant with no parent and no children beyond one."""
    visible = grants_visible_to(user)
    columns = ("id", "reference", "title", "status", "relation", "parent_id")
    ancestors, seen, node = [], {grant.pk}, grant.parent_id
    while node is not None and node not in seen:
        seen.add(node)
        row = Grant.objects.filter(pk=node).values(*columns).first()
        if row is None:
            break
        ancestors.append(row)
        node = row["parent_id"]
    visible_ids = (
        set(visible.filter(pk__in=[row["id"] for row in ancestors]).values_list("pk", flat=True))
        if ancestors
        else set()
    )
    descendants, frontier, depth = [], [grant.pk], 1
    while frontier:
        rows = [
            row
            for row in visible.filter(parent_id__in=frontier).order_by("id").values(*columns)
            if row["id"] not in seen
        ]
        seen.update(row["id"] for row in rows)
        descendants.extend({**row, "depth": depth} for row in rows)
        frontier, depth = [row["id"] for row in rows], depth + 1
    return {
        "ancestors": [row for row in reversed(ancestors) if row["id"] in visible_ids],
        "descendants": descendants,
    }


# --- A grant's edits, as its history shows them ---------------------------------------

EDIT_ACTIONS = ("grant.update", "grant.partner_roles", "grant.endorsement")
# The proposal's fields whose audited value is a list of country ids.
_COUNTRY_FIELDS = ("recipient_countries", "provider_countries")


def grant_edits(grant: Grant) -> list[dict]:
    """The leader's edits of a proposal, from the audit log (``audit.AuditEntry``: every
    ``grant_update`` writes what changed, before and after), oldest first: each
    ``{"at", "actor", "changes": [(label, before, after)]}`` with countries by name, a
    sector by its code and name, money and dates as written. Three queries at most
    (the entries, their countries, their sectors), whatever their number."""
    entries = list(
        AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Grant),
            object_id=str(grant.pk),
            action__in=EDIT_ACTIONS,
        )
        .select_related("actor")
        .order_by("at", "id")
    )
    country_ids, sector_ids = set(), set()
    for entry in entries:
        for name, pair in entry.changes.items():
            for value in pair:
                if name in _COUNTRY_FIELDS and value:
                    country_ids.update(value)
                elif name == "sector" and value is not None:
                    sector_ids.add(value)
    countries = dict(Country.objects.filter(pk__in=country_ids).values_list("pk", "name"))
    sectors = {s.pk: str(s) for s in Sector.objects.filter(pk__in=sector_ids)} if sector_ids else {}

    def shown(name, value):
        if value in (None, "", []):
            return "–"
        if name in _COUNTRY_FIELDS:
            return ", ".join(countries.get(pk, str(pk)) for pk in value)
        if name == "sector":
            return sectors.get(value, str(value))
        if name == "targeted_outcomes":
            labels = dict(CapacityOutcome.choices)
            return ", ".join(str(labels.get(code, code)) for code in value)
        if name == "partner_roles":
            return "; ".join(f"{r['role']} {r['partner']}" for r in value)
        return str(value)

    rows = []
    for entry in entries:
        changes = []
        for name, (before, after) in entry.changes.items():
            if name in ("updated_at", "completion_report_due"):
                continue
            try:
                label = str(Grant._meta.get_field(name).verbose_name).capitalize()
            except FieldDoesNotExist:  # a change audited under a name of its own
                label = name.replace("_", " ").capitalize()
            changes.append((label, shown(name, before), shown(name, after)))
        if changes:
            rows.append({"at": entry.at, "actor": entry.actor, "changes": changes})
    return rows
