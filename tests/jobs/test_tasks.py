"""The Celery entry points: thin wrappers that retry with backoff on a failing mail
server, acknowledge late, have time limits, and run daily from a beat schedule in code.
Here they run eagerly, in-process; test_worker.py runs them on a real worker."""

import smtplib
from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core import mail
from django.db import InterfaceError, OperationalError

from grants.alerts import AlertDeliveryError
from grants.models import Reminder
from grants.reminders import ReminderDeliveryError
from grants.tasks import check_fund_balance, send_completion_report_reminders
from partners.models import FundAlert
from seetf.celery import app
from tests.factories import fund_with
from tests.jobs import mail_backends

from .conftest import DUE, on_day

TRANSIENT = (smtplib.SMTPException, ConnectionError, OSError, OperationalError, InterfaceError)


@pytest.mark.parametrize(
    ("task", "delivery_error"),
    [
        (send_completion_report_reminders, ReminderDeliveryError),
        (check_fund_balance, AlertDeliveryError),
    ],
)
def test_the_tasks_retry_with_backoff_ack_late_and_have_time_limits(task, delivery_error):
    assert issubclass(delivery_error, task.autoretry_for)
    for error in TRANSIENT:
        assert issubclass(error, task.autoretry_for), error
    assert task.retry_backoff is True
    assert 60 <= task.retry_backoff_max <= 3600
    assert getattr(task, "retry_jitter", True) is True  # celery's default: jittered
    assert task.max_retries >= 5
    assert task.acks_late is True
    assert 0 < task.soft_time_limit < task.time_limit
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


@pytest.mark.django_db
def test_a_reminder_run_out_of_time_is_retried_and_the_retry_sends_the_rest(
    approved_grant, managers, time_runs_out_on_send, eager_retries
):
    calls = time_runs_out_on_send(2)
    day = DUE + timedelta(days=30)  # an overdue reminder and two escalations
    with on_day(day):
        result = send_completion_report_reminders.apply(
            kwargs={"as_of": day.isoformat()}, throw=False
        )
    assert result.state == "SUCCESS"
    assert result.get() == {"claimed": 0, "sent": 2}  # the retry: the two left pending
    assert len(calls) == 4  # one sent, one interrupted; then both of those left
    assert len(mail.outbox) == Reminder.objects.filter(sent_at__isnull=False).count() == 3


def test_the_beat_schedule_runs_both_jobs_daily():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    by_task = {entry["task"]: entry["schedule"] for entry in schedule.values()}
    for name in (
        "grants.tasks.send_completion_report_reminders",
        "grants.tasks.check_fund_balance",
    ):
        assert name in app.tasks, name
        entry = by_task[name]
        assert isinstance(entry, crontab)
        assert entry.day_of_week == set(range(7)) and entry.day_of_month == set(range(1, 32))
        assert len(entry.hour) == 1 and len(entry.minute) == 1
    assert app.conf.beat_schedule == schedule
    assert app.conf.timezone == django_settings.TIME_ZONE


class FlakyBackend(mail_backends.CountingBackend):
    """Down for the first ``failures`` sends, then delivers."""

    failures = 0

    def send_messages(self, messages):
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("down for a moment (test)")
        return super().send_messages(messages)


mail_backends.FlakyBackend = FlakyBackend


@pytest.fixture
def eager_retries():
    """Eager retries run in-process at once, each through ``apply()``, which re-raises
    unless eager exceptions are not propagated: let every retry run, as a worker would."""
    saved = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = saved


@pytest.mark.django_db
def test_the_reminder_task_runs_the_job_as_of_a_date_and_is_idempotent(approved_grant):
    as_of = (DUE + timedelta(days=1)).isoformat()
    first = send_completion_report_reminders.apply(kwargs={"as_of": as_of})
    again = send_completion_report_reminders.apply(kwargs={"as_of": as_of})
    assert first.get() == {"claimed": 1, "sent": 1}
    assert again.get() == {"claimed": 0, "sent": 0}
    assert len(mail.outbox) == Reminder.objects.count() == 1


@pytest.mark.django_db
def test_the_reminder_task_without_a_date_runs_as_of_today(approved_grant):
    with on_day(DUE - timedelta(days=14)):
        assert send_completion_report_reminders.delay().get() == {"claimed": 1, "sent": 1}
    assert Reminder.objects.get().kind == "upcoming"


@pytest.mark.django_db
def test_the_reminder_task_retries_until_the_server_is_back_and_sends_once(
    approved_grant, settings, eager_retries
):
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.FlakyBackend"
    FlakyBackend.failures = 2
    result = send_completion_report_reminders.apply(
        kwargs={"as_of": (DUE + timedelta(days=1)).isoformat()}, throw=False
    )
    assert result.state == "SUCCESS"
    assert result.get() == {"claimed": 0, "sent": 1}  # the third attempt sent it
    reminder = Reminder.objects.get()
    assert reminder.sent_at is not None and reminder.attempts == 3
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_reminder_task_gives_up_after_its_retries_leaving_the_reminder_pending(
    approved_grant, settings, eager_retries
):
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.RefusedBackend"
    result = send_completion_report_reminders.apply(
        kwargs={"as_of": (DUE + timedelta(days=1)).isoformat()}, throw=False
    )
    assert result.state == "FAILURE"
    assert isinstance(result.result, ReminderDeliveryError)
    reminder = Reminder.objects.get()
    assert reminder.sent_at is None
    assert reminder.attempts == 1 + send_completion_report_reminders.max_retries
    assert "refused" in reminder.last_error


@pytest.mark.django_db
def test_the_fund_task_retries_until_the_server_is_back_and_e_mails_once(
    managers, settings, eager_retries
):
    fund_with("100000.00")
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.FlakyBackend"
    FlakyBackend.failures = 3
    result = check_fund_balance.apply(throw=False)
    assert result.state == "SUCCESS"
    assert result.get() == {"raised": [], "resolved": [], "notified": 1}
    assert FundAlert.objects.count() == 1
    assert FundAlert.objects.get().notified_at is not None
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_fund_task_gives_up_leaving_the_alert_pending(managers, settings, eager_retries):
    fund_with("100000.00")
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.RefusedBackend"
    result = check_fund_balance.apply(throw=False)
    assert result.state == "FAILURE"
    alert = FundAlert.objects.get()
    assert alert.notified_at is None and alert.resolved_at is None
