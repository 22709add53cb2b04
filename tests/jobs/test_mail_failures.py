"""A mail server that is down: the job raises (so Celery retries), logs, and neither loses
a reminder or alert nor marks it sent; once the server is back, each goes exactly once."""

import logging
from datetime import timedelta

import pytest
from django.core import mail

from collaboration.models import Notification
from grants.alerts import AlertDeliveryError, run_fund_check
from grants.models import Reminder
from grants.reminders import ReminderDeliveryError, run_reminders
from partners.models import FundAlert
from results import services as results_services
from tests.factories import fund_with
from tests.grants.factories import REPORT

from .conftest import DUE, on_day

pytestmark = pytest.mark.django_db

BROKEN = [
    "tests.jobs.mail_backends.RefusedBackend",
    "tests.jobs.mail_backends.SMTPErrorBackend",
    "smtp-closed-port",
]
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def break_mail(settings, backend):
    """Make sending fail: a test backend, or Django's real SMTP backend pointed at a port
    where nothing listens."""
    if backend == "smtp-closed-port":
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 5
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    else:
        settings.EMAIL_BACKEND = backend


@pytest.mark.parametrize("backend", BROKEN)
def test_a_reminder_that_cannot_be_sent_stays_pending_and_goes_once_later(
    approved_grant, settings, caplog, backend
):
    day = DUE + timedelta(days=1)
    break_mail(settings, backend)
    with on_day(day), caplog.at_level(logging.WARNING, logger="grants.reminders"):
        with pytest.raises(ReminderDeliveryError):
            run_reminders(as_of=day)
        with pytest.raises(ReminderDeliveryError):
            run_reminders(as_of=day)  # a retry: still down
    (reminder,) = Reminder.objects.all()
    assert reminder.sent_at is None
    assert reminder.attempts == 2
    assert reminder.last_error
    assert "refused" in reminder.last_error or "closed" in reminder.last_error
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert f"reminder {reminder.pk} not sent" in warnings[0].getMessage()
    assert mail.outbox == []

    settings.EMAIL_BACKEND = LOCMEM
    with on_day(day + timedelta(days=1)):
        run = run_reminders(as_of=day + timedelta(days=1))
        again = run_reminders(as_of=day + timedelta(days=1))
    assert (run.sent, again.sent) == (1, 0)
    reminder.refresh_from_db()
    assert reminder.sent_at is not None
    assert (reminder.attempts, reminder.last_error) == (3, "")
    assert len(mail.outbox) == 1


def test_one_failing_reminder_does_not_stop_the_others(approved_grant, managers, settings):
    """The job sends all it can, then raises for the one that failed."""
    from tests.jobs import mail_backends

    class FailsForOne(mail_backends.CountingBackend):
        def send_messages(self, messages):
            if any(managers[0].email in m.to for m in messages):
                raise ConnectionResetError(104, "reset")
            return super().send_messages(messages)

    mail_backends.FailsForOne = FailsForOne
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.FailsForOne"
    day = DUE + timedelta(days=30)
    with on_day(day), pytest.raises(ReminderDeliveryError, match="reset"):
        run_reminders(as_of=day)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [approved_grant.task_team_leader.email, managers[1].email]
    )
    pending = Reminder.objects.filter(sent_at__isnull=True)
    assert [r.recipient for r in pending] == [managers[0].email]
    del mail_backends.FailsForOne


def test_a_reminder_no_longer_owed_when_the_server_is_back_is_not_sent(
    approved_grant, leader, settings
):
    """The report was submitted while the reminder waited to be resent: the leader is not
    told it is overdue, and the pending reminder is withdrawn rather than kept forever."""
    day = DUE + timedelta(days=1)
    settings.EMAIL_BACKEND = BROKEN[0]
    with on_day(day), pytest.raises(ReminderDeliveryError):
        run_reminders(as_of=day)
    assert Reminder.objects.filter(sent_at__isnull=True).count() == 1
    with on_day(day + timedelta(days=1)):
        results_services.completion_report_save(grant=approved_grant, user=leader, **REPORT)
        results_services.completion_report_submit(grant=approved_grant, user=leader)
    settings.EMAIL_BACKEND = LOCMEM
    with on_day(day + timedelta(days=2)):
        run = run_reminders(as_of=day + timedelta(days=2))
    assert run.sent == 0
    assert mail.outbox == []
    assert not Reminder.objects.exists()


@pytest.mark.parametrize("backend", BROKEN)
def test_an_alert_that_cannot_be_e_mailed_stays_pending_and_goes_once_later(
    managers, settings, caplog, backend
):
    fund_with("100000.00")
    break_mail(settings, backend)
    with caplog.at_level(logging.WARNING, logger="grants.alerts"):
        with pytest.raises(AlertDeliveryError):
            run_fund_check()
        with pytest.raises(AlertDeliveryError):
            run_fund_check()
    (alert,) = FundAlert.objects.all()  # raised once, however many retries
    assert alert.notified_at is None and alert.resolved_at is None
    assert f"Fund alert {alert.pk} not e-mailed" in caplog.text

    settings.EMAIL_BACKEND = LOCMEM
    assert run_fund_check().notified == 1
    assert run_fund_check().notified == 0
    alert.refresh_from_db()
    assert alert.notified_at is not None
    assert len(mail.outbox) == 1
    assert FundAlert.objects.count() == 1


def test_run_jobs_with_the_server_down_fails_loudly_and_sends_later(
    approved_grant, managers, settings, capsys
):
    """The fund (5,000,000 less one grant) is well above the threshold, so the
    threshold is raised above it to have an alert to send."""
    from django.core.management import CommandError, call_command

    day = DUE + timedelta(days=1)
    settings.EMAIL_BACKEND = BROKEN[0]
    settings.FUNDING_ALERT_THRESHOLD_USD = 10**9
    with pytest.raises(CommandError, match="mail server"):
        call_command("run_jobs", date=day.isoformat())
    err = capsys.readouterr().err
    assert "reminders could not be sent" in err and "alert could not be e-mailed" in err
    assert Reminder.objects.get().sent_at is None
    assert FundAlert.objects.get().notified_at is None

    assert "Notification e-mails:" in err  # the approval's, pending as well
    waiting = Notification.objects.filter(emailed_at=None).count()
    assert waiting > 0

    settings.EMAIL_BACKEND = LOCMEM
    call_command("run_jobs", date=day.isoformat())
    call_command("run_jobs", date=day.isoformat())
    assert Reminder.objects.get().sent_at is not None
    assert FundAlert.objects.get().notified_at is not None
    assert not Notification.objects.filter(emailed_at=None).exists()
    assert len(mail.outbox) == 2 + waiting


def test_a_run_out_of_time_stops_between_two_sends_leaving_the_rest_pending(
    approved_grant, managers, monkeypatch, time_runs_out_on_send
):
    """The task's soft time limit interrupts a send: the job stops there (the Celery task
    retries it) instead of counting it as a failed send and going on until the hard limit
    kills the worker mid-send."""
    from celery.exceptions import SoftTimeLimitExceeded

    from grants import reminders

    real_send = reminders._send
    calls = time_runs_out_on_send(2)
    day = DUE + timedelta(days=30)  # an overdue reminder and two escalations
    with on_day(day), pytest.raises(SoftTimeLimitExceeded):
        run_reminders(as_of=day)
    assert len(calls) == 2 and len(mail.outbox) == 1
    pending = Reminder.objects.filter(sent_at__isnull=True)
    assert pending.count() == 2
    assert {r.attempts for r in pending} == {0}

    monkeypatch.setattr(reminders, "_send", real_send)
    with on_day(day):
        assert run_reminders(as_of=day).sent == 2
    assert len(mail.outbox) == 3


@pytest.mark.django_db(transaction=True)
def test_money_moving_while_the_server_is_down_succeeds_and_the_alert_waits(
    managers, settings, caplog
):
    """Without a broker the check after commit runs in-process: a mail server that is
    down must not fail the receipt, and the alert stays pending for the next check."""
    from partners.models import Fund

    break_mail(settings, BROKEN[0])
    fund_with("100000.00")
    assert Fund.objects.get().received_usd == 100000
    (alert,) = FundAlert.objects.all()
    assert alert.notified_at is None
    assert "funding-balance check could not be queued or run" in caplog.text
    settings.EMAIL_BACKEND = LOCMEM
    assert run_fund_check().notified == 1
    assert len(mail.outbox) == 1
