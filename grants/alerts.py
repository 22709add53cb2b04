"""The funding-balance check (a plain function; grants/tasks.py wraps it).

Two conditions: `low_balance` when available money is below FUNDING_ALERT_THRESHOLD_USD,
and `pipeline_exceeds_balance` when the requests awaiting a decision exceed it; and for
each open funding window, `low_balance` (with the window) when its available money is
below WINDOW_ALERT_THRESHOLD_USD. An alert
is raised when its condition starts to hold and resolved when it clears: one alert per
crossing, however often the check runs (at most one open alert per kind, a partial
unique index). Fund managers are e-mailed once per alert, inside the transaction that
marks it notified, so a failed send leaves it to the next attempt.

It lives in grants, not beside the alerts' model in partners: the pipeline is the
grants' (``selectors.fund_summary``), and partners, below grants, may not read it. Every
movement of the fund's ledger sends ``partners.signals.fund_moved``, on which this app
queues the check (``GrantsConfig.ready``).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.mail import send_templated_mail
from partners.models import AlertKind, FundAlert, Window, WindowStatus
from partners.roles import Role
from partners.services import fund_lock

from .selectors import fund_summary

logger = logging.getLogger(__name__)


class AlertDeliveryError(Exception):
    """An alert e-mail could not be sent; it stays pending and the job is retried."""


@dataclass
class FundCheck:
    raised: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    notified: int = 0


def _conditions(summary: dict) -> dict[str, bool]:
    available = summary["available_usd"]
    return {
        AlertKind.LOW_BALANCE: available < summary["low_balance_threshold_usd"],
        AlertKind.PIPELINE_EXCEEDS_BALANCE: summary["pipeline_usd"] > available,
    }


def evaluate_fund_alerts(*, now: datetime | None = None) -> FundCheck:
    """Raise and resolve alerts to match the fund as it is now."""
    now = now or timezone.now()
    check = FundCheck()
    with transaction.atomic():
        # The fund's lock first, then the figures: checks (and money movements) take
        # turns, so each reads the fund after the one before it committed. Without it a
        # check that read the fund before a movement could act after the check queued by
        # that movement, and re-raise an alert the later check had just resolved.
        fund_lock()
        summary = fund_summary()
        open_alerts = {
            (alert.kind, alert.window_id): alert
            for alert in FundAlert.objects.select_for_update().filter(resolved_at__isnull=True)
        }
        wanted = {
            (kind, None): (holds, summary["available_usd"], summary["low_balance_threshold_usd"])
            for kind, holds in _conditions(summary).items()
        }
        # Each funding window's own low balance (open windows; a closed one holds nothing
        # and its alert, if any, is resolved). The fund's lock is held: the windows'
        # figures cannot move while they are read.
        threshold = settings.WINDOW_ALERT_THRESHOLD_USD
        for window in Window.objects.all():
            holds = window.status == WindowStatus.OPEN and window.available_usd < threshold
            wanted[AlertKind.LOW_BALANCE, window.pk] = (holds, window.available_usd, threshold)
        for (kind, window_id), (holds, available, alert_threshold) in wanted.items():
            alert = open_alerts.get((kind, window_id))
            name = kind if window_id is None else f"{kind}:window {window_id}"
            if holds and alert is None:
                try:
                    with transaction.atomic():
                        FundAlert.objects.create(
                            kind=kind,
                            window_id=window_id,
                            raised_at=now,
                            available_usd=available,
                            threshold_usd=alert_threshold,
                            pipeline_usd=summary["pipeline_usd"],
                        )
                    check.raised.append(name)
                except IntegrityError:
                    pass  # Another check raised it at the same moment: one alert.
            elif not holds and alert is not None:
                alert.resolved_at = now
                alert.save(update_fields=["resolved_at"])
                check.resolved.append(name)
    return check


def notify_fund_managers() -> int:
    """E-mail the fund managers about every open alert not yet notified."""
    managers = list(
        get_user_model()
        .objects.filter(groups__name=Role.FUND_MANAGER, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    skip_locked = connection.features.has_select_for_update_skip_locked
    sent = 0
    pending = FundAlert.objects.filter(resolved_at__isnull=True, notified_at__isnull=True)
    for pk in list(pending.values_list("pk", flat=True)):
        with transaction.atomic():
            alert = (
                FundAlert.objects.select_for_update(skip_locked=skip_locked)
                .filter(pk=pk, resolved_at__isnull=True, notified_at__isnull=True)
                .first()
            )
            if alert is None:
                continue
            if managers:
                try:
                    send_templated_mail(
                        template="partners/email/fund_alert",
                        to=sorted(managers),
                        context={"alert": alert, "fund_url": f"{settings.SITE_URL}/"},
                    )
                except Exception as exc:
                    logger.warning("Fund alert %s not e-mailed: %s", pk, exc)
                    raise AlertDeliveryError(str(exc)) from exc
            alert.notified_at = timezone.now()
            alert.save(update_fields=["notified_at"])
            sent += 1
    return sent


def run_fund_check(*, now: datetime | None = None) -> FundCheck:
    """The whole job: evaluate, then notify. Raises AlertDeliveryError on a failed send."""
    check = evaluate_fund_alerts(now=now)
    check.notified = notify_fund_managers()
    # Not logged here: each caller says what the run did once, in its own way (`run_jobs`
    # prints it; Celery logs the task's return value).
    return check
