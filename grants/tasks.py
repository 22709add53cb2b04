"""Celery entry points for grants: thin wrappers around grants.reminders."""

from datetime import date
from smtplib import SMTPException

from celery import shared_task
from django.utils import timezone

from .reminders import ReminderDeliveryError, run_reminders


# Retried with backoff because a mail server may be briefly down: claimed reminders
# that failed stay pending, and those already sent are never sent again.
@shared_task(
    autoretry_for=(ReminderDeliveryError, SMTPException, ConnectionError, OSError),
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
