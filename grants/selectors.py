"""Reads for grants that are more than a filter: the fund summary, scoping, reports."""

from decimal import Decimal

from django.conf import settings
from django.db.models import F, Q, Sum
from django.utils import timezone

from partners.models import ZERO, Fund, Receipt
from partners.roles import Role, user_roles
from partners.selectors import fund_pledged_usd

from .models import APPROVED_AND_LATER, Grant, GrantStatus

CENT = Decimal("0.01")


def fund_summary() -> dict:
    """The fund's money, as API.md defines it, in three small queries.

    received, committed and disbursed come from the ledger row that every money
    movement updates under its lock; pledged and pipeline are sums over pledges and
    over the requests waiting for a decision.
    """
    fund = Fund.objects.filter(pk=1).first() or Fund()
    pipeline = Grant.objects.in_pipeline().aggregate(total=Sum("requested_usd"))["total"]
    return {
        "pledged_usd": fund_pledged_usd(),
        "received_usd": fund.received_usd,
        "committed_usd": fund.committed_usd,
        "disbursed_usd": fund.disbursed_usd,
        "available_usd": fund.available_usd,
        "pipeline_usd": (pipeline or ZERO).quantize(CENT),
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
