"""The counts by status (grants 0017) under concurrent moves in opposite directions, on
PostgreSQL: each statement's trigger locks the counts' rows in status order, so two
transactions moving grants from A to B and from B to A at once wait for each other and
never deadlock, and the counts stay equal to the grants.

Each repetition releases 20 threads at once (a Barrier), each on its own connection and
in its own transaction: 10 move a grant from submitted to under review, 10 move one back,
each by one UPDATE with its history row (the trigger's row locks are held to the commit,
after a short pause that widens the window in which a lock taken out of order would
deadlock: the test fails so without the trigger's ordered lock). Real commits:
transaction=True."""

import time

import pytest
from django.db import transaction
from django.db.models import Count

from grants.models import Grant, GrantHistory, GrantStatus, GrantStatusCount
from tests.concurrency import at_once
from tests.grants.factories import make_grant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20
REPETITIONS = 10


def counted():
    return {c.status: c.count for c in GrantStatusCount.objects.all() if c.count}


def actual():
    rows = Grant.objects.order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def move(grant_id, source, target) -> None:
    """One grant moved in its own transaction, with the history row the status change
    needs (grants 0009); the trigger's locks are held a moment before the commit."""
    with transaction.atomic():
        GrantHistory.objects.create(
            grant_id=grant_id, action="race", from_status=source, to_status=target
        )
        moved = Grant.objects.filter(pk=grant_id, status=source).update(status=target)
        assert moved == 1, (grant_id, source, target)
        time.sleep(0.05)


def race(moves) -> None:
    """Each (grant id, from, to) moved by its own thread, all released at once."""
    at_once([lambda m=m: move(*m) for m in moves])


def test_opposite_moves_at_once_never_deadlock_and_keep_the_counts(funded, leader, fund_manager):
    half = THREADS // 2
    submitted = [make_grant(leader, GrantStatus.SUBMITTED).pk for _ in range(half)]
    in_review = [
        make_grant(leader, GrantStatus.UNDER_REVIEW, manager=fund_manager).pk for _ in range(half)
    ]
    assert counted() == actual() == {"submitted": half, "under_review": half}
    forth, back = GrantStatus.SUBMITTED, GrantStatus.UNDER_REVIEW
    for _ in range(REPETITIONS):
        race([(pk, forth, back) for pk in submitted] + [(pk, back, forth) for pk in in_review])
        assert counted() == actual() == {"submitted": half, "under_review": half}
        submitted, in_review = in_review, submitted
