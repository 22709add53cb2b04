"""Shared set-up for the jobs tests: a funded fund, two fund managers, an approved grant
whose completion report falls due on a known day, and a way to be on a given day."""

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from grants.models import GrantStatus
from tests.factories import fund_with
from tests.grants.factories import make_grant

FUND_USD = Decimal("5000000.00")
# grant_data() plans the exchanges to end on 2026-06-30; the report is due 60 days later.
DUE = date(2026, 8, 29)


@pytest.fixture(autouse=True)
def _job_settings(settings):
    """The documented defaults, whatever the environment says, and a known site address."""
    settings.REMINDER_UPCOMING_DAYS = 14
    settings.REMINDER_ESCALATION_DAYS = 30
    settings.FUNDING_ALERT_THRESHOLD_USD = Decimal("250000.00")
    settings.SITE_URL = "https://seetf.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.WHITENOISE_USE_FINDERS = False


@contextmanager
def on_day(day: date, hour: int = 6):
    """Be at ``hour`` o'clock (the beat schedule's 06:00) on ``day``, clock stopped."""
    moment = timezone.make_aware(datetime.combine(day, time(hour)))
    with time_machine.travel(moment, tick=False):
        yield moment


def days(start: date, end: date):
    """Every day from start to end, both included."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


@pytest.fixture
def time_runs_out_on_send(monkeypatch):
    """time_runs_out_on_send(n): the n-th reminder send of the test raises Celery's
    SoftTimeLimitExceeded, as the task's soft time limit would interrupt it; the others
    go out. Returns the list of reminder ids sent for, in order."""

    from celery.exceptions import SoftTimeLimitExceeded

    from grants import reminders

    def arrange(n: int) -> list:
        real_send, calls = reminders._send, []

        def send(reminder, as_of, *args):
            calls.append(reminder.pk)
            if len(calls) == n:
                raise SoftTimeLimitExceeded()
            return real_send(reminder, as_of, *args)

        monkeypatch.setattr(reminders, "_send", send)
        return calls

    return arrange


@pytest.fixture
def funded(db):
    fund_with(str(FUND_USD))


@pytest.fixture
def managers(fund_manager, fund_manager2):
    return [fund_manager, fund_manager2]


@pytest.fixture
def approved_grant(funded, leader, managers):
    """An approved grant led by ``leader`` whose report is due on DUE."""
    with on_day(date(2026, 1, 5)):
        grant = make_grant(leader, GrantStatus.APPROVED, manager=managers[0])
    assert grant.completion_report_due == DUE
    return grant
