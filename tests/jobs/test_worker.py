"""The jobs on real Celery workers: two worker processes against the Redis broker and the
test's PostgreSQL database, sent the jobs as Celery beat sends them. Checks the e-mails
they send (spooled to files) and the rows they leave; the same job sent twice at once
sends nothing twice; a mail server that is down makes the task retry on the worker, and
nothing is lost or marked sent until it is back.

The broker is CELERY_TEST_BROKER_URL (CI sets it); each run uses a queue of its own, so
other workers on the same broker take none of its tasks. Every wait is bounded.
"""

import email
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from email import policy

import pytest
from celery import Celery
from django.conf import settings

from grants.models import GrantStatus, Reminder
from partners.models import AlertKind, FundAlert
from tests.factories import fund_with
from tests.grants.factories import make_grant

from .conftest import DUE, on_day

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
REMINDERS = "grants.tasks.send_completion_report_reminders"
FUND_CHECK = "grants.tasks.check_fund_balance"
SITE_URL = "https://seetf.example.org"
WORKERS = 2
START_TIMEOUT = 40
TASK_TIMEOUT = 30


def wait(result):
    """The task's return value. Not from inside a task, but Celery's guard against that
    is a process-wide flag that eager tasks queued from several threads at once (other
    tests' concurrent requests) can leave set: this test process is no worker."""
    return result.get(timeout=TASK_TIMEOUT, disable_sync_subtasks=False)


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.exceptions.RedisError:
        return False


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Workers:
    """Worker processes consuming one queue of their own, and a client to send to it."""

    def __init__(self, folder, db_name):
        self.queue = f"seetf-test-{uuid.uuid4().hex[:12]}"
        self.mail_dir = folder / "mail"
        self.mail_dir.mkdir()
        self.names = [f"{self.queue}-{i}@localhost" for i in range(WORKERS)]
        self.logs = [folder / f"worker-{i}.log" for i in range(WORKERS)]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.jobs.worker_settings",
            "PYTHONPATH": str(settings.BASE_DIR),
            "CELERY_BROKER_URL": BROKER,
            "CELERY_RESULT_BACKEND": BROKER,
            "SEETF_WORKER_DB_NAME": db_name,
            "SEETF_WORKER_MAIL_DIR": str(self.mail_dir),
            # A moment per message, so that two jobs running at once overlap.
            "SEETF_WORKER_MAIL_DELAY": "0.1",
            "SITE_URL": SITE_URL,
            "REMINDER_UPCOMING_DAYS": "14",
            "REMINDER_ESCALATION_DAYS": "30",
            "FUNDING_ALERT_THRESHOLD_USD": "250000.00",
        }
        self.client = Celery("seetf-test-client", broker=BROKER, backend=BROKER)
        self.client.conf.update(result_expires=600, broker_connection_retry_on_startup=True)
        self.processes = []
        self.sent = []

    def start(self):
        for name, log in zip(self.names, self.logs, strict=True):
            command = [
                sys.executable, "-m", "celery", "-A", "seetf", "worker",
                "--pool=threads", "--concurrency=2", "--prefetch-multiplier=1",
                "-Q", self.queue, "-n", name, "--loglevel=INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ]  # fmt: skip
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=settings.BASE_DIR,
                    env=self.env,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

        def all_answer():
            for process, log in zip(self.processes, self.logs, strict=True):
                if process.poll() is not None:
                    raise AssertionError(f"a worker exited:\n{log.read_text()[-3000:]}")
            replies = self.client.control.ping(destination=self.names, timeout=0.5)
            return {name for reply in replies for name in reply} == set(self.names)

        wait_for(all_answer, START_TIMEOUT, "the workers to start")

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # warm shutdown
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.client.close()
        # The queue's bindings stay in Redis after the workers have gone; results expire.
        import redis

        broker = redis.Redis.from_url(BROKER, socket_connect_timeout=2)
        for key in list(broker.scan_iter(match=f"*{self.queue}*", count=1000)):
            broker.delete(key)
        broker.close()

    def send(self, task, **kwargs):
        result = self.client.send_task(task, kwargs=kwargs, queue=self.queue)
        self.sent.append(result.id)
        return result

    def forget_sent(self):
        """Revoke what a test sent and did not see finish (a retry waiting for its time),
        so that it cannot run into the next test's data; the workers skip revoked ids."""
        if self.sent:
            self.client.control.revoke(self.sent, destination=self.names)
        self.sent = []

    def log(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs)

    def mails(self) -> list:
        return [
            email.message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(self.mail_dir.glob("*.eml"))
        ]

    def clear_mail(self):
        for path in self.mail_dir.iterdir():
            path.unlink()

    def mail_down(self, down: bool):
        flag = self.mail_dir / "mail-down"
        if down:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, tmp_path_factory):
    if not _redis_answers(BROKER):
        message = f"needs Redis at {BROKER} (CELERY_TEST_BROKER_URL)"
        if os.environ.get("CI") or os.environ.get("SEETF_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    started = time.monotonic()
    pool = Workers(tmp_path_factory.mktemp("celery"), settings.DATABASES["default"]["NAME"])
    try:
        pool.start()
        print(f"\nworkers ready in {time.monotonic() - started:.1f}s")
        yield pool
    finally:
        pool.stop()
        print(f"\nworkers up for {time.monotonic() - started:.1f}s")


@pytest.fixture
def worker(workers, monkeypatch):
    """The workers, with no mail spooled, the mail server up, and the test's own money
    movements not checking the fund in-process (the workers are to do it)."""
    from grants import tasks

    monkeypatch.setattr(tasks.check_fund_balance, "delay", lambda *a, **k: None)
    workers.clear_mail()
    workers.mail_down(False)
    yield workers
    workers.forget_sent()
    workers.mail_down(False)


@pytest.fixture
def overdue_grants(leader, leader2, managers):
    """Three approved grants whose reports were due on DUE; 200,000 USD left available."""
    fund_with("500000.00")
    with on_day(date(2026, 1, 5)):
        return [
            make_grant(owner, GrantStatus.APPROVED, manager=managers[0])
            for owner in (leader, leader2, leader)
        ]


def test_the_jobs_run_twice_at_once_on_real_workers_send_each_e_mail_once(
    worker, overdue_grants, managers
):
    as_of = (DUE + timedelta(days=30)).isoformat()
    results = [worker.send(REMINDERS, as_of=as_of) for _ in range(2)]
    results += [worker.send(FUND_CHECK) for _ in range(2)]
    outcomes = [wait(result) for result in results]

    # Each grant: the fifth overdue reminder and an escalation to each fund manager.
    expected = len(overdue_grants) * (1 + len(managers))
    assert outcomes[0]["sent"] + outcomes[1]["sent"] == expected
    assert outcomes[0]["claimed"] + outcomes[1]["claimed"] >= expected
    assert sum(check["notified"] for check in outcomes[2:]) == 1
    assert sorted(check["raised"] for check in outcomes[2:]) == [[], [AlertKind.LOW_BALANCE]]
    reminders = list(Reminder.objects.all())
    assert len(reminders) == expected
    assert all(r.sent_at is not None and r.attempts == 1 for r in reminders)
    (alert,) = FundAlert.objects.all()
    assert alert.available_usd == Decimal("200000.00") and alert.notified_at is not None

    mails = worker.mails()
    assert len(mails) == expected + 1
    sent = [(m["Subject"], m["To"]) for m in mails]
    assert len(set(sent)) == len(sent)
    (alert_mail,) = [m for m in mails if m["Subject"].startswith("Fund alert")]
    assert sorted(alert_mail["To"].split(", ")) == sorted(m.email for m in managers)

    # An e-mail as the worker sent it: text and HTML, the grant, the due date, the link.
    grant = overdue_grants[1]
    (message,) = [m for m in mails if m["To"] == grant.task_team_leader.email]
    assert message["Subject"] == (
        f"Overdue: the completion report for {grant.reference} was due on 2026-08-29"
    )
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert grant.reference in body and "2026-08-29" in body
        assert f"{SITE_URL}/grants/{grant.pk}/report/" in body

    # Run again, as a retry or the next beat would: nothing more.
    again = wait(worker.send(REMINDERS, as_of=as_of))
    assert again == {"claimed": 0, "sent": 0}
    assert wait(worker.send(FUND_CHECK))["notified"] == 0
    assert len(worker.mails()) == expected + 1


def test_a_mail_server_that_is_down_makes_the_worker_retry_and_lose_nothing(
    worker, overdue_grants, managers
):
    worker.mail_down(True)
    as_of = (DUE + timedelta(days=1)).isoformat()
    reminders = worker.send(REMINDERS, as_of=as_of)
    check = worker.send(FUND_CHECK)

    def retried():
        rows = list(Reminder.objects.all())
        return len(rows) == len(overdue_grants) and all(r.attempts >= 2 for r in rows)

    wait_for(retried, TASK_TIMEOUT, "the reminder task to be retried")
    wait_for(lambda: "AlertDeliveryError" in worker.log(), TASK_TIMEOUT, "the fund retry")
    assert not Reminder.objects.filter(sent_at__isnull=False).exists()
    assert all("refused" in r.last_error for r in Reminder.objects.all())
    (alert,) = FundAlert.objects.all()
    assert alert.notified_at is None
    assert worker.mails() == []
    log = worker.log()
    assert "Retry in" in log
    assert "not sent" in log and "ReminderDeliveryError" in log
    assert reminders.state in ("PENDING", "RETRY", "STARTED")

    worker.mail_down(False)
    # The task ends once a try sends all that was left. Its figure is that try's alone:
    # a try under way when the server came back has sent its rows and was retried for
    # the ones that had failed, so the last try may send fewer than all; the rows and the
    # mails below say that each reminder went once.
    last_try = wait(reminders)
    assert last_try["claimed"] == 0
    assert 1 <= last_try["sent"] <= len(overdue_grants)
    assert wait(check)["notified"] == 1
    assert reminders.state == "SUCCESS"
    rows = list(Reminder.objects.all())
    assert all(r.sent_at is not None and r.last_error == "" for r in rows)
    assert FundAlert.objects.get().notified_at is not None
    mails = worker.mails()
    assert len(mails) == len(overdue_grants) + 1
    assert len({(m["Subject"], m["To"]) for m in mails}) == len(mails)


@pytest.fixture
def closed_grants(leader, leader2, managers):
    """Two grants closed on 2026-09-15: their 6-month ex-post checks are due 2027-03-15."""
    from tests.results.factories import finished_grant

    fund_with("500000.00")
    with on_day(date(2026, 9, 15)):
        return [finished_grant(owner, managers[0]) for owner in (leader, leader2)]


def test_ex_post_reminders_sent_twice_at_once_on_real_workers_go_once_each(worker, closed_grants):
    as_of = "2027-03-20"
    outcomes = [wait(result) for result in [worker.send(REMINDERS, as_of=as_of) for _ in range(2)]]
    assert outcomes[0]["sent"] + outcomes[1]["sent"] == len(closed_grants)
    rows = list(Reminder.objects.all())
    assert sorted((r.grant_id, r.kind, r.sequence) for r in rows) == sorted(
        (grant.pk, "ex_post", 6) for grant in closed_grants
    )
    assert all(r.sent_at is not None and r.attempts == 1 for r in rows)
    mails = worker.mails()
    assert sorted(m["To"] for m in mails) == sorted(
        grant.task_team_leader.email for grant in closed_grants
    )
    grant = closed_grants[0]
    (message,) = [m for m in mails if m["To"] == grant.task_team_leader.email]
    assert message["Subject"] == f"Ex-post check for {grant.reference}: 6 months after closing"
    assert f"{SITE_URL}/grants/{grant.pk}/ex-post/6/" in message.get_body(("plain",)).get_content()
    assert wait(worker.send(REMINDERS, as_of=as_of)) == {"claimed": 0, "sent": 0}
    assert len(worker.mails()) == len(closed_grants)


def test_ex_post_reminders_are_not_lost_when_the_mail_server_is_down(worker, closed_grants):
    worker.mail_down(True)
    reminders = worker.send(REMINDERS, as_of="2027-03-15")

    def retried():
        rows = list(Reminder.objects.all())
        return len(rows) == len(closed_grants) and all(r.attempts >= 2 for r in rows)

    wait_for(retried, TASK_TIMEOUT, "the reminder task to be retried")
    assert not Reminder.objects.filter(sent_at__isnull=False).exists()
    assert worker.mails() == []
    worker.mail_down(False)
    assert wait(reminders) == {"claimed": 0, "sent": len(closed_grants)}
    assert all(r.sent_at is not None for r in Reminder.objects.all())
    assert len(worker.mails()) == len(closed_grants)
