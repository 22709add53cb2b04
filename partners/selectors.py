"""Reads for partners and money in that are more than a filter."""

from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Prefetch, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from audit.models import AuditEntry
from seetf.common.money import MONEY, ZERO, to_cents

from .models import (
    WINDOW_MOVEMENT_SIGN,
    Contribution,
    Country,
    FundAlert,
    Partner,
    Receipt,
    Sector,
    Window,
    WindowApprover,
    WindowMovement,
    outstanding_usd_expression,
)
from .permissions import can_read_audit_log, can_read_windows


def _contribution_sum(expression):
    """A correlated subquery summing ``expression`` over a partner's contributions."""
    return Coalesce(
        Subquery(
            Contribution.objects.filter(partner=OuterRef("pk"))
            .order_by()
            .values("partner")
            .annotate(total=Sum(expression))
            .values("total")[:1],
            output_field=DecimalField(**MONEY),
        ),
        Value(ZERO),
        output_field=DecimalField(**MONEY),
    )


def contributions_report(*, partners=None) -> dict:
    """Annex C: a row per partner with what it pledged, paid in and still owes (USD).

    One query, whatever the number of partners and contributions.
    """
    partners = Partner.objects.all() if partners is None else partners
    rows_qs = (
        partners.annotate(
            pledged_total=_contribution_sum("pledged_usd"),
            received_total=_contribution_sum("received_usd"),
            outstanding_total=_contribution_sum(outstanding_usd_expression()),
        )
        .order_by("name")
        .values("name", "code", "kind", "pledged_total", "received_total", "outstanding_total")
    )
    rows = [
        {
            "partner": r["name"],
            "code": r["code"],
            "kind": r["kind"],
            "pledged_usd": to_cents(r["pledged_total"]),
            "received_usd": to_cents(r["received_total"]),
            "outstanding_usd": to_cents(r["outstanding_total"]),
        }
        for r in rows_qs
    ]
    totals = {
        key: sum((row[key] for row in rows), ZERO)
        for key in ("pledged_usd", "received_usd", "outstanding_usd")
    }
    return {"rows": rows, "totals": totals}


def fund_pledged_usd() -> Decimal:
    return to_cents(Contribution.objects.aggregate(total=Sum("pledged_usd"))["total"])


# --- Scopes: the rows each user may see (seetf.common.api.ScopedViewMixin) ----------------
# Reference data and money in are the same for everyone a view's read rule admits
# (API.md roles); they are still declared scopes, so that no view reads them unscoped.


def countries_visible_to(user):
    return Country.objects.all()


def sectors_visible_to(user):
    return Sector.objects.all()


def partners_visible_to(user):
    return Partner.objects.all()


def contributions_visible_to(user):
    return Contribution.objects.all()


def receipts_visible_to(user):
    return Receipt.objects.all()


def alerts_visible_to(user):
    """Funding alerts concern the whole fund: all of them (the read rule admits fund
    managers only)."""
    return FundAlert.objects.all()


# --- Funding windows ---------------------------------------------------------------------


def windows_visible_to(user):
    """Every signed-in user of the fund reads every window and its balances (API.md);
    no one else any."""
    if not user or not user.is_authenticated or not can_read_windows(user)[0]:
        return Window.objects.none()
    return Window.objects.all()


def windows_with_details(queryset):
    """Windows with their sectors and approvers (and the approvers' usernames): three
    queries whatever the number of windows."""
    return queryset.prefetch_related(
        Prefetch("sectors", queryset=Sector.objects.only("code")),
        Prefetch(
            "approver_limits",
            queryset=WindowApprover.objects.select_related("user").order_by("user__username"),
        ),
    )


def approver_limits(user) -> dict[int, Decimal]:
    """{window id: limit} of the windows where the user is an approver, read once per
    user object (one query), as ``partners.roles.user_roles`` keeps the roles."""
    if not user or not user.is_authenticated:
        return {}
    cached = getattr(user, "_seetf_window_limits", None)
    if cached is None:
        cached = dict(
            WindowApprover.objects.filter(user=user).values_list("window_id", "limit_usd")
        )
        user._seetf_window_limits = cached
    return cached


def window_ledger_from_records(window_id: int) -> dict:
    """A window's allocated money recomputed from its movements (the commitments and
    disbursements of its grants are the grants', recomputed in grants.selectors)."""
    allocated = ZERO
    for kind, amount in WindowMovement.objects.filter(window_id=window_id).values_list(
        "kind", "amount_usd"
    ):
        allocated += WINDOW_MOVEMENT_SIGN[kind] * amount
    return {"allocated_usd": to_cents(allocated)}


def audit_entries_visible_to(user):
    """The audit log: every entry for fund managers and superusers, none for anyone
    else (the API's read rule answers them 403 first; the page the same)."""
    if not can_read_audit_log(user)[0]:
        return AuditEntry.objects.none()
    return AuditEntry.objects.select_related("content_type")
