"""Celery entry points for grants: thin wrappers around grants.reminders,
grants.alerts (the funding-balance check, also queued after every money movement) and
grants.ledger (the ledger reconciled with the records, ``check_fund``)."""

import logging
from datetime import date
from smtplib import SMTPException

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from .alerts import AlertDeliveryError, run_fund_check
from .ledger import run_ledger_check
from .models import PIPELINE_STATUSES
from .reminders import ReminderDeliveryError, run_reminders

logger = logging.getLogger(__name__)


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


# Retried because a mail server or the database may be briefly unavailable: the check
# is idempotent (one open alert per kind), so a retry never raises an alert twice.
@shared_task(
    autoretry_for=(AlertDeliveryError, SMTPException, OSError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    acks_late=True,
    soft_time_limit=120,
    time_limit=180,
)
def check_fund_balance():
    check = run_fund_check()
    return {"raised": check.raised, "resolved": check.resolved, "notified": check.notified}


# The ledger reconciled with the records (``manage.py check_fund``): retried as the
# balance check is (the database or the mail server briefly down); idempotent (one open
# ledger_drift alert, its detail updated).
@shared_task(
    autoretry_for=(AlertDeliveryError, SMTPException, OSError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    acks_late=True,
    soft_time_limit=600,
    time_limit=660,
)
def check_ledger():
    run = run_ledger_check()
    if run.drifts:
        logger.error("The ledger differs from the records: %s", "; ".join(map(str, run.drifts)))
    return {
        "drifts": [str(drift) for drift in run.drifts],
        "raised": run.raised,
        "resolved": run.resolved,
        "notified": run.notified,
    }


def _enqueue_fund_check() -> None:
    try:
        check_fund_balance.delay()
    except Exception:  # noqa: BLE001
        # With a broker: it could not be queued. Without one (eager, in-process): it ran
        # and failed, e.g. on the mail server, leaving its alert pending.
        logger.exception("The funding-balance check could not be queued or run now")


def check_fund_balance_after_commit(**_signal) -> None:
    """Queue a funding check once the current transaction commits (never inside it),
    once per transaction however many movements it makes. The receiver of
    ``partners.signals.fund_moved`` (connected in ``GrantsConfig.ready``).

    A broker that is down must not fail the request that moved the money: the daily
    check catches up, so the error is logged.
    """
    connection = transaction.get_connection()
    # Django drops the callbacks of a savepoint that rolls back, so this only skips a
    # check that is still going to run.
    if any(callback is _enqueue_fund_check for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_enqueue_fund_check)


def check_fund_balance_after_pipeline_move(*, grant, from_status, past=False, **_signal) -> None:
    """Queue the funding check when a workflow action moves a proposal into or out of
    the pipeline (submitted, resubmitted, returned, rejected, approved...): the
    ``pipeline_exceeds_balance`` alert compares the pipeline with the available money,
    so it is raised on the submission that crosses it, not by the next daily run. The
    receiver of ``grants.signals.grant_transitioned``; the importer's past decisions
    (``past``) queue nothing (the import queues its own check once its ledger moved)."""
    if past:
        return
    if (from_status in PIPELINE_STATUSES) != (grant.status in PIPELINE_STATUSES):
        check_fund_balance_after_commit()
