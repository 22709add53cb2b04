"""Reconciling the ledger with the records (issue 14, point 7): ``check_fund``.

The fund's ledger row and the running totals kept on contributions and grants are
figures the application writes as money moves (under the ledger's row lock). The
database keeps the records themselves (receipts, disbursements, grant history, the
audit log) append-only, but it cannot tell a wrong total from a right one: an UPDATE
of ``partners_fund.received_usd`` with no receipt, or of a grant's ``approved_usd``,
goes through, because the application itself writes those columns. This check finds
such drift: each cached figure recomputed from the records it summarises.

``CHECKS`` is a list of functions, each returning the drifts it finds: a new cached
figure (a funding window's totals, say) is one more function added with
``register_check``. ``run_ledger_check`` is the job (``manage.py check_fund``, the daily
beat task ``grants.tasks.check_ledger``): it raises a ``ledger_drift`` fund alert when
something drifted (e-mailed to the fund managers like the balance alerts), updates its
detail while the drift lasts, and resolves it once the figures agree again.

It lives in grants, beside the balance check, because it reads grants and
disbursements, which partners (below grants) may not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.models import AuditEntry
from partners.models import AlertKind, Contribution, Fund, FundAlert, Receipt, Window
from partners.services import fund_lock
from seetf.common.money import MONEY, ZERO, to_cents

from .alerts import notify_fund_managers
from .models import Disbursement, Grant
from .selectors import fund_ledger_from_records, fund_summary, windows_ledger_from_records


@dataclass(frozen=True)
class Drift:
    """One cached figure that differs from what its records give."""

    figure: str  # "fund.received_usd", "grant 12 (SEETF-2026-0001).disbursed_usd"
    expected: Decimal  # from the records
    found: Decimal  # the figure as stored

    def __str__(self) -> str:
        return (
            f"{self.figure}: the records give {to_cents(self.expected)}, "
            f"the ledger has {to_cents(self.found)}"
        )


LedgerCheck = Callable[[], list[Drift]]
CHECKS: list[LedgerCheck] = []


def register_check(check: LedgerCheck) -> LedgerCheck:
    CHECKS.append(check)
    return check


def _sum_of(model, amount: str, **link):
    return Coalesce(
        Subquery(
            model.objects.filter(**link)
            .order_by()
            .values(next(iter(link)))
            .annotate(total=Sum(amount))
            .values("total")[:1],
            output_field=DecimalField(**MONEY),
        ),
        Value(ZERO),
        output_field=DecimalField(**MONEY),
    )


@register_check
def fund_totals() -> list[Drift]:
    """The fund's received, committed and disbursed money against the receipts, the
    grants' commitments (approved less released) and the disbursements."""
    fund = Fund.objects.get(pk=1)
    expected = fund_ledger_from_records()
    return [
        Drift(f"fund.{name}", value, getattr(fund, name))
        for name, value in expected.items()
        if getattr(fund, name) != value
    ]


@register_check
def contribution_totals() -> list[Drift]:
    """Each contribution's received amount (its currency) and USD against its receipts."""
    rows = (
        Contribution.objects.annotate(
            from_receipts=_sum_of(Receipt, "amount", contribution=OuterRef("pk")),
            usd_from_receipts=_sum_of(Receipt, "usd_amount", contribution=OuterRef("pk")),
        )
        .filter(~Q(received_amount=F("from_receipts")) | ~Q(received_usd=F("usd_from_receipts")))
        .order_by("pk")
        .values(
            "pk",
            "reference",
            "received_amount",
            "from_receipts",
            "received_usd",
            "usd_from_receipts",
        )
    )
    drifts = []
    for row in rows:
        name = f"contribution {row['pk']} ({row['reference']})"
        if row["received_amount"] != row["from_receipts"]:
            drifts.append(
                Drift(f"{name}.received_amount", row["from_receipts"], row["received_amount"])
            )
        if row["received_usd"] != row["usd_from_receipts"]:
            drifts.append(
                Drift(f"{name}.received_usd", row["usd_from_receipts"], row["received_usd"])
            )
    return drifts


@register_check
def grant_disbursed() -> list[Drift]:
    """Each grant's disbursed money against its disbursements."""
    rows = (
        Grant.objects.annotate(
            from_records=_sum_of(Disbursement, "amount_usd", grant=OuterRef("pk"))
        )
        .filter(~Q(disbursed_usd=F("from_records")))
        .order_by("pk")
        .values("pk", "reference", "disbursed_usd", "from_records")
    )
    return [
        Drift(
            f"grant {row['pk']} ({row['reference'] or 'no reference'}).disbursed_usd",
            row["from_records"],
            row["disbursed_usd"],
        )
        for row in rows
    ]


@register_check
def grant_approved() -> list[Drift]:
    """Each grant's approved amount against the one its approval recorded in the audit
    log (grants approved before the log, or loaded in bulk, have no entry: skipped)."""
    approvals = {}
    entries = (
        AuditEntry.objects.filter(action="grant.approve", content_type__model="grant")
        .order_by("id")
        .values_list("object_id", "changes")
    )
    for object_id, changes in entries:
        pair = (changes or {}).get("approved_usd")
        if pair and pair[1] is not None:
            approvals[object_id] = Decimal(pair[1])
    if not approvals:
        return []
    rows = Grant.objects.filter(pk__in=[int(pk) for pk in approvals]).values_list(
        "pk", "reference", "approved_usd"
    )
    return [
        Drift(f"grant {pk} ({reference}).approved_usd", approvals[str(pk)], approved)
        for pk, reference, approved in rows
        if approved != approvals[str(pk)]
    ]


@register_check
def window_totals() -> list[Drift]:
    """Each funding window's allocated, committed and disbursed money against its
    movements and its grants (``windows_ledger_from_records``)."""
    expected = windows_ledger_from_records()
    drifts = []
    for window in Window.objects.order_by("pk").only(
        "pk", "code", "allocated_usd", "committed_usd", "disbursed_usd"
    ):
        figures = expected.get(window.pk, {})
        for name in ("allocated_usd", "committed_usd", "disbursed_usd"):
            if getattr(window, name) != figures.get(name, ZERO):
                drifts.append(
                    Drift(
                        f"window {window.pk} ({window.code}).{name}",
                        figures.get(name, ZERO),
                        getattr(window, name),
                    )
                )
    return drifts


def ledger_drifts() -> list[Drift]:
    """Every drift, each check in turn, under the fund's row lock (no movement commits
    between two of the checks' reads: every movement takes that lock)."""
    with transaction.atomic():
        fund_lock()
        return _drifts()


def _drifts() -> list[Drift]:
    return [drift for check in CHECKS for drift in check()]


@dataclass
class LedgerRun:
    drifts: list[Drift] = field(default_factory=list)
    raised: bool = False
    resolved: bool = False
    notified: int = 0

    @property
    def ok(self) -> bool:
        return not self.drifts


def run_ledger_check(*, now: datetime | None = None, notify: bool = True) -> LedgerRun:
    """The whole job: find the drifts; raise (or update) the ``ledger_drift`` alert while
    there are any, resolve it when there are none; e-mail the fund managers about a new
    alert (``grants.alerts.notify_fund_managers``, AlertDeliveryError on a failed send)."""
    now = now or timezone.now()
    run = LedgerRun()
    with transaction.atomic():
        fund_lock()
        run.drifts = _drifts()
        open_alert = (
            FundAlert.objects.select_for_update()
            .filter(kind=AlertKind.LEDGER_DRIFT, resolved_at__isnull=True)
            .first()
        )
        detail = "\n".join(str(drift) for drift in run.drifts)
        if run.drifts and open_alert is None:
            summary = fund_summary()
            FundAlert.objects.create(
                kind=AlertKind.LEDGER_DRIFT,
                raised_at=now,
                available_usd=summary["available_usd"],
                threshold_usd=summary["low_balance_threshold_usd"],
                pipeline_usd=summary["pipeline_usd"],
                detail=detail,
            )
            run.raised = True
        elif run.drifts and open_alert.detail != detail:
            open_alert.detail = detail
            open_alert.save(update_fields=["detail"])
        elif not run.drifts and open_alert is not None:
            open_alert.resolved_at = now
            open_alert.save(update_fields=["resolved_at"])
            run.resolved = True
    if notify:
        run.notified = notify_fund_managers()
    return run
