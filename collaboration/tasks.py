"""Celery entry points for the notification e-mails (collaboration.delivery), and their
queueing once the transaction that made the notifications commits."""

import logging
from datetime import date
from smtplib import SMTPException

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from .delivery import NotificationDeliveryError, run_digests, run_pending

logger = logging.getLogger(__name__)

RETRIED = (
    NotificationDeliveryError,
    SoftTimeLimitExceeded,
    SMTPException,
    OSError,
    OperationalError,
    InterfaceError,
)


# Retried with backoff as the reminders are (a mail server or the database briefly
# down): what failed stays pending, what was sent is never sent again. The beat runs it
# every few minutes too, so a notification whose task was lost (a broker down at commit)
# still goes out.
@shared_task(
    autoretry_for=RETRIED,
    retry_backoff=True,
    retry_backoff_max=900,
    max_retries=8,
    acks_late=True,
    soft_time_limit=300,
    time_limit=360,
)
def send_notification_emails():
    return {"sent": run_pending().sent}


@shared_task(
    autoretry_for=RETRIED,
    retry_backoff=True,
    retry_backoff_max=900,
    max_retries=8,
    acks_late=True,
    soft_time_limit=600,
    time_limit=660,
)
def send_notification_digests(as_of: str | None = None):
    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    return {"sent": run_digests(as_of=day).sent}


def _enqueue_emails() -> None:
    try:
        send_notification_emails.delay()
    except Exception:  # noqa: BLE001
        # With a broker: it could not be queued (the beat's catch-up run sends them).
        # Without one (eager): it ran and failed, e.g. on the mail server; still pending.
        logger.exception("The notification e-mails could not be queued or sent now")


def emails_after_commit() -> None:
    """Queue the e-mail task once the current transaction commits, once per transaction
    however many notifications it makes; nothing for one that rolls back."""
    connection = transaction.get_connection()
    if any(callback is _enqueue_emails for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_enqueue_emails)
