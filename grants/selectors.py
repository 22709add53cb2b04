"""Reads for grants that are more than a filter: the fund summary, scoping, reports."""

from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import DecimalField, F, Func, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from partners.models import MONEY, ZERO, Contribution, Country, Fund, Partner, Receipt
from partners.roles import Role, user_roles
from partners.selectors import fund_pledged_usd
from seetf.common.pagination import Rows

from .models import APPROVED_AND_LATER, Grant, GrantStatus

CENT = Decimal("0.01")


def _total(queryset, field: str):
    """A scalar subquery: SUM(field) over the queryset, zero when empty."""
    total = queryset.order_by().values(
        total=Func(F(field), function="SUM", output_field=DecimalField(**MONEY))
    )
    return Coalesce(Subquery(total), Value(ZERO), output_field=DecimalField(**MONEY))


def fund_summary() -> dict:
    """The fund's money, as API.md defines it, in one query.

    received, committed and disbursed come from the ledger row that every money
    movement updates under its lock; pledged and pipeline are sums over pledges and
    over the requests waiting for a decision, computed in the same statement.
    """
    row = (
        Fund.objects.filter(pk=1)
        .annotate(
            pledged=_total(Contribution.objects.all(), "pledged_usd"),
            pipeline=_total(Grant.objects.in_pipeline(), "requested_usd"),
        )
        .values("received_usd", "committed_usd", "disbursed_usd", "pledged", "pipeline")
        .first()
    )
    if row is None:  # No ledger row yet: no money has moved.
        fund = Fund()
        pipeline = Grant.objects.in_pipeline().aggregate(total=Sum("requested_usd"))["total"]
        row = {
            "received_usd": fund.received_usd,
            "committed_usd": fund.committed_usd,
            "disbursed_usd": fund.disbursed_usd,
            "pledged": fund_pledged_usd(),
            "pipeline": pipeline,
        }
    return {
        "pledged_usd": (row["pledged"] or ZERO).quantize(CENT),
        "received_usd": row["received_usd"],
        "committed_usd": row["committed_usd"],
        "disbursed_usd": row["disbursed_usd"],
        "available_usd": row["received_usd"] - row["committed_usd"],
        "pipeline_usd": (row["pipeline"] or ZERO).quantize(CENT),
        "low_balance_threshold_usd": settings.FUNDING_ALERT_THRESHOLD_USD,
        "as_of": timezone.now(),
    }


def fund_ledger_from_records() -> dict:
    """The ledger's totals recomputed from receipts and grants: what ``fund_summary``
    must always agree with (used by tests and by `check_fund`)."""
    received = Receipt.objects.aggregate(total=Sum("usd_amount"))["total"] or ZERO
    grant_totals = Grant.objects.committed().aggregate(
        committed=Sum(F("approved_usd") - F("released_usd")), disbursed=Sum("disbursed_usd")
    )
    return {
        "received_usd": received.quantize(CENT),
        "committed_usd": (grant_totals["committed"] or ZERO).quantize(CENT),
        "disbursed_usd": (grant_totals["disbursed"] or ZERO).quantize(CENT),
    }


def grants_visible_to(user):
    """Every grant this user may see, decided in this one place (API.md roles):

    - fund managers: every grant that is not a draft;
    - task team leaders: their own grants at any status, and others' once approved;
    - donors: approved grants and later.

    Drafts are private to their leader. A user with several roles sees the union.
    """
    if not user or not user.is_authenticated:
        return Grant.objects.none()
    if user.is_superuser:
        return Grant.objects.all()
    roles = user_roles(user)
    condition = Q(pk__in=[])
    if Role.FUND_MANAGER in roles:
        condition |= ~Q(status=GrantStatus.DRAFT)
    if Role.TASK_TEAM_LEADER in roles:
        condition |= Q(task_team_leader=user) | Q(status__in=APPROVED_AND_LATER)
    if Role.DONOR in roles:
        condition |= Q(status__in=APPROVED_AND_LATER)
    return Grant.objects.filter(condition)


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


# --- Grant lists and details, read as rows ---------------------------------------------------

# The columns the grant list and detail show (GrantSerializer's fields, by attname).
GRANT_ROW_COLUMNS = (
    "id",
    "reference",
    "title",
    "summary",
    "task_team_leader_id",
    "sector_id",
    "region",
    "requested_usd",
    "approved_usd",
    "disbursed_usd",
    "status",
    "development_goal",
    "targeted_outcomes",
    "planned_start",
    "planned_end",
    "completion_report_due",
    "submitted_at",
    "decided_at",
    "created_at",
)
RELATIONS = ("recipient_countries", "provider_countries", "facilitating_partners")


def _relations_sql(count: int) -> str:
    """One statement for the three relations of ``count`` grants: (grant id, relation,
    code or id, name), ordered by name as the API has always listed them."""
    q = connection.ops.quote_name
    marks = ", ".join(["%s"] * count)
    parts = []
    for kind, name in enumerate(RELATIONS):
        through = getattr(Grant, name).through._meta.db_table
        if name == "facilitating_partners":
            target, key = Partner._meta.db_table, "id"
            code = f"CAST(r.{q('partner_id')} AS TEXT)"
            join = f"r.{q('partner_id')}"
        else:
            target, key, code = Country._meta.db_table, "code", f"r.{q('country_id')}"
            join = f"r.{q('country_id')}"
        parts.append(
            f"SELECT r.{q('grant_id')}, {kind}, {code}, t.{q('name')} FROM {q(through)} r "
            f"JOIN {q(target)} t ON t.{q(key)} = {join} WHERE r.{q('grant_id')} IN ({marks})"
        )
    return " UNION ALL ".join(parts) + " ORDER BY 4"


def grant_relations(grant_ids: list[int]) -> dict[int, dict[str, list]]:
    """The recipient and provider countries (ISO3 codes) and facilitating partners (ids)
    of these grants, in one query whatever their number: each list in the order the API
    has always given it (by country name, by partner name). Written as SQL: built with
    the ORM (a union of three querysets) it cost more to compose than to run."""
    related = {pk: {name: [] for name in RELATIONS} for pk in grant_ids}
    if not grant_ids:
        return related
    with connection.cursor() as cursor:
        cursor.execute(_relations_sql(len(grant_ids)), list(grant_ids) * len(RELATIONS))
        for grant_id, kind, code, _name in cursor.fetchall():
            name = RELATIONS[kind]
            related[grant_id][name].append(int(code) if kind == 2 else code)
    return related


def grant_rows(queryset) -> list[dict]:
    """The grants of ``queryset`` (filtered, ordered, sliced as the caller wants) as
    plain rows with their relations: two queries, and no model instances, which at a
    page of 50 grants cost more than the queries themselves.

    A page (a sliced queryset) is found by its ids first, in a subquery: the database
    orders and skips narrow (id, sort key) rows, then reads the wide rows of the page
    alone. Ordering whole rows, summaries included, spilled deep pages to disk.
    """
    query = queryset.query
    if query.low_mark or query.high_mark is not None:
        page = queryset.values("pk")
        queryset = Grant.objects.filter(pk__in=page).order_by(*query.order_by)
    rows = list(queryset.values(*GRANT_ROW_COLUMNS))
    related = grant_relations([row["id"] for row in rows])
    for row in rows:
        row.update(related[row["id"]])
    return rows


class GrantRows(Rows):
    """A queryset of grants seen as rows (``grant_rows``), for Django's paginator."""

    def __init__(self, queryset):
        super().__init__(queryset, grant_rows)
