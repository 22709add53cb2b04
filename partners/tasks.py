"""Celery entry points for the fund: thin wrappers around partners.alerts."""

import logging
from smtplib import SMTPException

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction

from seetf.common.idempotency import purge_expired_idempotency_keys

from .alerts import AlertDeliveryError, run_fund_check

logger = logging.getLogger(__name__)


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


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def purge_idempotency_keys():
    return purge_expired_idempotency_keys()


def _enqueue_fund_check() -> None:
    try:
        check_fund_balance.delay()
    except Exception:  # noqa: BLE001
        # With a broker: it could not be queued. Without one (eager, in-process): it ran
        # and failed, e.g. on the mail server, leaving its alert pending.
        logger.exception("The funding-balance check could not be queued or run now")


def check_fund_balance_after_commit() -> None:
    """Queue a funding check once the current transaction commits (never inside it),
    once per transaction however many movements it makes.

    A broker that is down must not fail the request that moved the money: the daily
    check catches up, so the error is logged.
    """
    connection = transaction.get_connection()
    # Django drops the callbacks of a savepoint that rolls back, so this only skips a
    # check that is still going to run.
    if any(callback is _enqueue_fund_check for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_enqueue_fund_check)
