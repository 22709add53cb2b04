"""Notifications by e-mail: the immediate ones as soon as their transaction commits (and
by a catch-up run every few minutes), the daily digests once a day. Plain functions;
collaboration/tasks.py wraps them.

Exactly once, the claim pattern of ``grants.reminders``: the row is the claim (made in
the transaction of the change, so a change that rolls back leaves none). Each pending
row, or each user's pending digest rows together, is sent inside a transaction that
holds their row locks and sets ``emailed_at``. An immediate notification is one row
(``SELECT ... FOR UPDATE SKIP LOCKED``: a second worker skips what the first is
sending). A digest is several rows, and SKIP LOCKED would hand a second worker the rows
the first had not locked yet (two digests, each with part of the day); so a digest's
rows are locked without skipping, in one fixed order (oldest first): the second worker
waits on the first row, then finds every row sent and sends nothing. A send that fails
rolls back, leaving the rows pending for the next run; the failure is counted on them.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.mail import send_templated_mail
from seetf.common.jobs import DailyJobFailed

from .models import Delivery, Notification

logger = logging.getLogger(__name__)


class NotificationDeliveryError(Exception):
    """Some notifications could not be e-mailed; they stay pending and the job retries."""


@dataclass
class DeliveryRun:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _locked(queryset, *, skip_locked=True):
    skip_locked = skip_locked and connection.features.has_select_for_update_skip_locked
    # Only the notifications' rows are locked (of=self): the user and the grant stay free.
    return queryset.select_for_update(skip_locked=skip_locked, of=("self",))


def _link(notification) -> str:
    return f"{settings.SITE_URL}{notification.path or '/notifications/'}"


def _failed(run: DeliveryRun, pks: list[int], what: str, exc: Exception) -> None:
    run.failed += len(pks)
    run.errors.append(f"{what}: {exc}")
    logger.warning("Notification e-mail %s not sent: %s", what, exc)
    Notification.objects.filter(pk__in=pks, emailed_at__isnull=True).update(
        attempts=F("attempts") + 1, last_error=str(exc)[:500]
    )


def send_pending_notifications() -> DeliveryRun:
    """E-mail every notification to be sent at once and not yet sent, each in its own
    transaction under its row lock."""
    run = DeliveryRun()
    pending = list(
        Notification.objects.filter(delivery=Delivery.IMMEDIATELY, emailed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in pending:
        try:
            with transaction.atomic():
                notification = (
                    _locked(Notification.objects.select_related("user", "grant"))
                    .filter(pk=pk, emailed_at__isnull=True)
                    .first()
                )
                if notification is None:
                    continue  # Another worker has it, or has sent it.
                send_templated_mail(
                    template="collaboration/email/notification",
                    to=[notification.user.email],
                    context={"notification": notification, "link": _link(notification)},
                )
                notification.emailed_at = timezone.now()
                notification.attempts += 1
                notification.last_error = ""
                notification.save(update_fields=["emailed_at", "attempts", "last_error"])
                run.sent += 1
        except SoftTimeLimitExceeded:
            raise  # Stop between two sends; this one rolled back and stays pending.
        except Exception as exc:  # noqa: BLE001 - any mail failure leaves it pending
            _failed(run, [pk], f"notification {pk}", exc)
    return run


def digest_cutoff(as_of: date) -> datetime:
    """A digest sent on ``as_of`` holds what happened before that day began (TIME_ZONE)."""
    return timezone.make_aware(datetime.combine(as_of, time.min))


def send_digests(*, as_of: date) -> DeliveryRun:
    """One e-mail per user with the notifications they chose to have daily, made before
    ``as_of`` and not yet sent (a day's events, and any a failed run left), grouped by
    day; each user's in one transaction holding their rows' locks."""
    run = DeliveryRun()
    cutoff = digest_cutoff(as_of)
    waiting = Notification.objects.filter(
        delivery=Delivery.DAILY, emailed_at__isnull=True, created_at__lt=cutoff
    )
    user_ids = sorted(set(waiting.values_list("user_id", flat=True)))
    for user_id in user_ids:
        pks: list[int] = []
        try:
            with transaction.atomic():
                # All of the user's rows or none: wait for a worker that holds any of
                # them (the fixed order rules out a deadlock), then read them again.
                rows = list(
                    _locked(
                        waiting.filter(user_id=user_id).select_related("user", "grant"),
                        skip_locked=False,
                    ).order_by("created_at", "pk")
                )
                if not rows:
                    continue  # Another worker has sent this user's digest.
                pks = [row.pk for row in rows]
                send_templated_mail(
                    template="collaboration/email/digest",
                    to=[rows[0].user.email],
                    context={
                        "user": rows[0].user,
                        "days": _by_day(rows),
                        "count": len(rows),
                        "as_of": as_of,
                        "link": f"{settings.SITE_URL}/notifications/",
                    },
                )
                Notification.objects.filter(pk__in=pks).update(
                    emailed_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
                )
                run.sent += len(pks)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001
            _failed(run, pks, f"digest for user {user_id}", exc)
    return run


def _by_day(rows) -> list[dict]:
    days: dict[date, list] = {}
    for row in rows:
        days.setdefault(timezone.localdate(row.created_at), []).append(
            {"notification": row, "link": _link(row)}
        )
    return [{"day": day, "items": items} for day, items in days.items()]


def run_pending() -> DeliveryRun:
    """The immediate e-mails; raises NotificationDeliveryError after sending all it could
    when some failed, so that the task is retried."""
    run = send_pending_notifications()
    if run.failed:
        raise NotificationDeliveryError("; ".join(run.errors[:5]))
    return run


def run_digests(*, as_of: date) -> DeliveryRun:
    run = send_digests(as_of=as_of)
    if run.failed:
        raise NotificationDeliveryError("; ".join(run.errors[:5]))
    return run


def pending_emails_job(as_of: date) -> str:
    """``run_jobs``' catch-up of the e-mails to send at once (as beat's every 10 minutes)."""
    run = send_pending_notifications()
    if run.failed:
        raise DailyJobFailed(
            f"{run.sent} sent, {run.failed} could not be sent (they stay pending): "
            + "; ".join(run.errors[:5])
        )
    return f"Notification e-mails: {run.sent} sent."


def daily_digests_job(as_of: date) -> str:
    """``run_jobs``' daily digests as of the day (as beat's morning task)."""
    run = send_digests(as_of=as_of)
    if run.failed:
        raise DailyJobFailed(
            f"{run.sent} notifications sent, {run.failed} could not be sent (they stay "
            "pending): " + "; ".join(run.errors[:5])
        )
    return f"Daily digests as of {as_of}: {run.sent} notifications sent."
