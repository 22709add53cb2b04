"""Reads for grants that are more than a filter: the fund summary, scoping, reports."""

from django.conf import settings
from django.db.models import DecimalField, F, Func, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from partners.models import Contribution, Fund, Receipt
from partners.roles import Role, user_roles
from partners.selectors import fund_pledged_usd
from seetf.common.money import MONEY, ZERO, to_cents

from .models import APPROVED_AND_LATER, Grant, GrantStatus


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
        "pledged_usd": to_cents(row["pledged"]),
        "received_usd": row["received_usd"],
        "committed_usd": row["committed_usd"],
        "disbursed_usd": row["disbursed_usd"],
        "available_usd": row["received_usd"] - row["committed_usd"],
        "pipeline_usd": to_cents(row["pipeline"]),
        "low_balance_threshold_usd": settings.FUNDING_ALERT_THRESHOLD_USD,
        "as_of": timezone.now(),
    }


def fund_ledger_from_records() -> dict:
    """The ledger's totals recomputed from receipts and grants: what ``fund_summary``
    must always agree with (used by tests and by `check_fund`)."""
    received = Receipt.objects.aggregate(total=Sum("usd_amount"))["total"]
    grant_totals = Grant.objects.committed().aggregate(
        committed=Sum(F("approved_usd") - F("released_usd")), disbursed=Sum("disbursed_usd")
    )
    return {
        "received_usd": to_cents(received),
        "committed_usd": to_cents(grant_totals["committed"]),
        "disbursed_usd": to_cents(grant_totals["disbursed"]),
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
    (``results.reports.reported_grants_visible_to``) give this user: users with the same
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
