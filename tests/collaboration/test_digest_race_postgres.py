"""A digest is several rows: a worker that meets another one holding part of a user's
rows waits for it, and sends the whole digest or nothing; never the rows the other had
not locked yet (SKIP LOCKED did: two mails, each with part of the day, as the two real
workers of test_worker.py once sent). Deterministic: one thread holds the user's oldest
row, the job runs in another, and the test sees it wait on that lock before letting go.
Real commits: transaction=True."""

import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as clock

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from collaboration.delivery import send_digests
from collaboration.models import Delivery, Notification
from tests.grants.factories import make_grant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_digest_whose_oldest_row_another_worker_holds_waits_and_goes_whole(funded, leader):
    grant = make_grant(leader)
    yesterday = timezone.make_aware(datetime.combine(date(2026, 3, 2), clock(10)))
    rows = [
        Notification.objects.create(
            user=leader,
            kind="comment",
            grant=grant,
            text=f"Comment {n}",
            delivery=Delivery.DAILY,
            created_at=yesterday + timedelta(minutes=n),
        )  # fmt: skip
        for n in range(3)
    ]
    held, release, done = threading.Event(), threading.Event(), threading.Event()
    runs, errors = [], []

    def holder():
        try:
            with transaction.atomic():
                Notification.objects.select_for_update().get(pk=rows[0].pk)
                held.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    def sender():
        try:
            runs.append(send_digests(as_of=date(2026, 3, 3)))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            done.set()
            connection.close()

    holding = threading.Thread(target=holder)
    holding.start()
    assert held.wait(timeout=10), "the holder did not lock the row"
    sending = threading.Thread(target=sender)
    sending.start()
    deadline = time.monotonic() + 10
    while not done.is_set() and not _waiting_on_a_lock() and time.monotonic() < deadline:
        time.sleep(0.02)
    sent_before_release = [m.subject for m in mail.outbox]
    waited = not done.is_set()
    release.set()
    holding.join(timeout=20)
    sending.join(timeout=20)
    assert not errors
    assert sent_before_release == [], "the job sent part of the digest past a held row"
    assert waited, "the job did not wait for the worker holding the user's row"
    assert [run.sent for run in runs] == [3]
    assert [m.subject for m in mail.outbox] == ["Your SEETF digest: 3 notifications"]
    assert Notification.objects.filter(emailed_at=None).count() == 0
