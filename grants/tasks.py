"""Celery entry points for grants: thin wrappers around grants.reminders."""

from datetime import date
from smtplib import SMTPException

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .reminders import ReminderDeliveryError, run_reminders


# Retried with backoff because a mail server or the database may be briefly down
# (a restart, a fail-over, a dropped connection): claimed reminders that failed stay
# pending, and those already sent are never sent again. A run that reaches its soft
# time limit (a mail server that hangs, a long backlog) stops between two sends and is
# retried too: the retry goes on from where it stopped.
@shared_task(
    autoretry_for=(
        ReminderDeliveryError,
        SoftTimeLimitExceeded,
        SMTPException,
        OSError,
        OperationalError,
        InterfaceError,
    ),
    retry_backoff=True,
    retry_backoff_max=900,
    max_retries=8,
    acks_late=True,
    soft_time_limit=600,
    time_limit=660,
)
def send_completion_report_reminders(as_of: str | None = None):
    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    run = run_reminders(as_of=day)
    return {"claimed": run.claimed, "sent": run.sent}
