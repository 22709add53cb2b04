"""The notification e-mails on real Celery workers (two processes, Redis, the test's
PostgreSQL database), as tests/jobs/test_worker.py runs the reminders: the same job sent
several times at once sends each e-mail once and each digest once; a mail server that is
down makes the task retry, and nothing is lost or marked sent until it is back."""

from datetime import date, datetime, timedelta
from datetime import time as clock

import pytest
from django.conf import settings
from django.utils import timezone

from collaboration.models import Delivery, Notification
from grants.models import GrantStatus
from tests.grants.factories import make_grant
from tests.jobs.test_worker import BROKER, TASK_TIMEOUT, Workers, _redis_answers, wait, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EMAILS = "collaboration.tasks.send_notification_emails"
DIGESTS = "collaboration.tasks.send_notification_digests"
SITE_URL = "https://seetf.example.org"


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, tmp_path_factory):
    if not _redis_answers(BROKER):
        pytest.fail(f"needs Redis at {BROKER} (CELERY_TEST_BROKER_URL)")
    from seetf.celery import app

    pool = Workers(tmp_path_factory.mktemp("celery"), settings.DATABASES["default"]["NAME"])
    # The client's Celery app made itself the current one: the project's again, or the
    # shared tasks of the tests after these (tests/jobs) would go to the broker instead
    # of running in-process.
    app.set_current()
    try:
        pool.start()
        yield pool
    finally:
        pool.stop()
        app.set_current()


@pytest.fixture
def worker(workers, monkeypatch):
    """The workers, no mail spooled, the mail server up, and nothing sent in-process
    when the test's own transactions commit (the workers are to send)."""
    from collaboration import tasks
    from grants import tasks as grant_tasks

    monkeypatch.setattr(tasks.send_notification_emails, "delay", lambda *a, **k: None)
    monkeypatch.setattr(grant_tasks.check_fund_balance, "delay", lambda *a, **k: None)
    workers.clear_mail()
    workers.mail_down(False)
    yield workers
    workers.forget_sent()
    workers.mail_down(False)


@pytest.fixture
def submitted(funded, leader, fund_manager, fund_manager2, window, window_manager):
    """Three proposals submitted in the window: 3 x (2 fund managers + 1 approver)
    notifications to e-mail at once."""
    return [make_grant(leader, GrantStatus.SUBMITTED, window=window) for _ in range(3)]


def test_the_e_mail_job_sent_four_times_at_once_sends_each_once(worker, submitted):
    expected = Notification.objects.filter(delivery=Delivery.IMMEDIATELY).count()
    assert expected == 9
    results = [worker.send(EMAILS) for _ in range(4)]
    assert sum(wait(result)["sent"] for result in results) == expected
    assert Notification.objects.filter(emailed_at=None).count() == 0
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
    mails = worker.mails()
    assert len(mails) == expected
    keys = [(m["To"], m["Subject"]) for m in mails]
    assert len(set(keys)) == expected
    grant = submitted[0]
    (message,) = [
        m for m in mails if m["To"] == "wm@example.org" and grant.reference in m["Subject"]
    ]
    text = message.get_body(("plain",)).get_content()
    assert f"{SITE_URL}/grants/{grant.pk}/" in text
    assert wait(worker.send(EMAILS)) == {"sent": 0}


def test_the_digest_job_sent_twice_at_once_sends_each_users_digest_once(
    worker, funded, leader, fund_manager, fund_manager2
):
    grant = make_grant(leader)
    yesterday = timezone.make_aware(datetime.combine(date(2026, 3, 2), clock(10)))
    for user in (leader, fund_manager, fund_manager2):
        for n in range(3):
            Notification.objects.create(
                user=user, kind="comment", grant=grant, text=f"Comment {n} for {user}",
                delivery=Delivery.DAILY, created_at=yesterday + timedelta(minutes=n),
            )  # fmt: skip
    results = [worker.send(DIGESTS, as_of="2026-03-03") for _ in range(2)]
    assert sum(wait(result)["sent"] for result in results) == 9
    mails = worker.mails()
    assert sorted(m["To"] for m in mails) == [
        "fm2@example.org",
        "fm@example.org",
        "ttl@example.org",
    ]
    assert all(m["Subject"] == "Your SEETF digest: 3 notifications" for m in mails)
    assert wait(worker.send(DIGESTS, as_of="2026-03-03")) == {"sent": 0}


def test_a_mail_server_that_is_down_makes_the_worker_retry_and_lose_nothing(worker, submitted):
    worker.mail_down(True)
    result = worker.send(EMAILS)

    def retried():
        rows = list(Notification.objects.all())
        return all(row.attempts >= 2 for row in rows)

    wait_for(retried, TASK_TIMEOUT, "the e-mail task to be retried")
    assert not Notification.objects.filter(emailed_at__isnull=False).exists()
    assert all("refused" in row.last_error for row in Notification.objects.all())
    assert worker.mails() == []
    assert "NotificationDeliveryError" in worker.log()
    worker.mail_down(False)
    # The task ends once a try sends all that was left. Its figure is that try's alone:
    # a try already under way when the server came back has sent the rest of its rows
    # and was retried for the ones that had failed, so the last try may send fewer than 9.
    last_try = wait(result)["sent"]
    assert 1 <= last_try <= 9
    mails = worker.mails()
    assert len(mails) == 9
    assert len({(m["To"], m["Subject"]) for m in mails}) == 9
    assert not Notification.objects.filter(emailed_at=None).exists()
    assert all("refused" not in row.last_error for row in Notification.objects.all())
