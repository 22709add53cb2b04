"""Jobs run several times at once (two workers, a retry overlapping the next run), each
from its own thread and database connection: every reminder and alert is sent exactly
once. On PostgreSQL the runs share the work under row locks (SKIP LOCKED); on SQLite, the
embedded default, they take turns under its database-wide write lock (IMMEDIATE
transactions), with the same outcome. Real commits: transaction=True."""

import threading
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction
from django.db.models import F

from grants.alerts import run_fund_check
from grants.models import GrantStatus, Reminder
from grants.reminders import run_reminders
from partners.models import AlertKind, Fund, FundAlert
from partners.services import fund_lock
from tests.factories import fund_with
from tests.grants.factories import make_grant

from .conftest import DUE, on_day

pytestmark = [
    pytest.mark.django_db(transaction=True),
]

THREADS = 4


def at_once(n, job):
    """Run ``job`` in ``n`` threads released together; each closes its connection."""
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(job())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a job did not finish"
    return results, errors


@pytest.fixture(autouse=True)
def _no_check_after_commit(monkeypatch):
    """The tests commit for real, so each money movement would queue (and, eagerly, run)
    the check: here only the checks the test runs itself."""
    from grants import tasks

    monkeypatch.setattr(tasks.check_fund_balance, "delay", lambda *a, **k: None)


@pytest.fixture
def slow_mail(settings):
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.SlowCountingBackend"


@pytest.fixture
def grants(leader, leader2, managers):
    """Six approved grants: three due on DUE, three ten days later."""
    fund_with("5000000.00")
    with on_day(date(2026, 1, 5)):
        made = [
            make_grant(
                owner,
                GrantStatus.APPROVED,
                manager=managers[0],
                planned_end=date(2026, 6, 30) + timedelta(days=10 * (i % 2)),
            )
            for i, owner in enumerate([leader, leader2] * 3)
        ]
    # Only the reminders in the outbox: not the e-mails of the notifications their
    # submissions and approvals made (collaboration).
    mail.outbox.clear()
    return made


def test_reminders_run_at_once_are_each_sent_once(grants, managers, slow_mail):
    day = DUE + timedelta(days=30)  # the first three: overdue #4 and escalations
    with on_day(day):
        results, errors = at_once(THREADS, lambda: run_reminders(as_of=day))
    assert errors == []
    # 3 grants x (1 overdue + 2 escalations) + 3 grants x 1 overdue (20 days late)
    expected = 3 * (1 + len(managers)) + 3
    rows = list(Reminder.objects.values_list("grant_id", "kind", "sequence", "recipient"))
    assert len(rows) == len(set(rows)) == expected
    assert sum(run.sent for run in results) == expected
    sent = Counter((m.subject, tuple(m.to)) for m in mail.outbox)
    assert len(mail.outbox) == expected
    assert set(sent.values()) == {1}
    assert not Reminder.objects.filter(sent_at__isnull=True).exists()
    assert set(Reminder.objects.values_list("attempts", flat=True)) == {1}
    if connection.vendor == "postgresql":
        # More than one thread did some of the sending: they really overlapped.
        assert sum(1 for run in results if run.sent) >= 2


def test_reminders_walked_by_two_workers_day_by_day_are_each_sent_once(grants, managers, slow_mail):
    for offset in (-14, -4, 1, 8, 11, 30, 40):
        day = DUE + timedelta(days=offset)
        before = len(mail.outbox)
        with on_day(day):
            _, errors = at_once(2, lambda day=day: run_reminders(as_of=day))
        assert errors == []
        sent_today = [(m.subject, *m.to) for m in mail.outbox[before:]]
        assert len(sent_today) == len(set(sent_today))
        assert len(sent_today) == Reminder.objects.filter(sent_at__date=day).count() > 0
    assert len(mail.outbox) == Reminder.objects.count()
    assert not Reminder.objects.filter(sent_at__isnull=True).exists()


def test_fund_checks_run_at_once_raise_one_alert_and_one_e_mail(managers, slow_mail):
    fund_with("100000.00")
    results, errors = at_once(THREADS, run_fund_check)
    assert errors == []
    (alert,) = FundAlert.objects.all()
    assert alert.kind == AlertKind.LOW_BALANCE and alert.notified_at is not None
    assert sum(len(check.raised) for check in results) == 1
    assert sum(check.notified for check in results) == 1
    assert len(mail.outbox) == 1

    Fund.objects.filter(pk=1).update(received_usd=F("received_usd") + Decimal("500000"))
    results, errors = at_once(THREADS, run_fund_check)
    assert errors == []
    assert sum(len(check.resolved) for check in results) == 1
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert FundAlert.objects.count() == 1 and len(mail.outbox) == 1


def test_a_check_waits_for_a_movement_in_progress_and_reads_the_fund_after_it(managers):
    """A check that starts while money is moving reads the fund once the movement has
    committed, so it never acts on figures about to change (and re-raises nothing)."""
    fund_with("100000.00")
    run_fund_check()
    assert FundAlert.objects.get().resolved_at is None
    locked, checked = threading.Event(), []

    def movement():
        with transaction.atomic():
            fund_lock()
            Fund.objects.filter(pk=1).update(received_usd=F("received_usd") + Decimal("500000"))
            locked.set()
            time.sleep(0.5)
        return "moved"

    def check():
        assert locked.wait(timeout=10)
        result = run_fund_check()
        checked.append(time.monotonic())
        return result

    jobs = iter([movement, check])
    results, errors = at_once(2, lambda: next(jobs)())
    assert errors == []
    (check_result,) = [r for r in results if r != "moved"]
    assert check_result.resolved == [AlertKind.LOW_BALANCE]
    assert FundAlert.objects.get().resolved_at is not None
