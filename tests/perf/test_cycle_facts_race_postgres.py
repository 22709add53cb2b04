"""Reports refreshing the same grants' cycle facts at the same moment (analytics
``refresh_cycle_facts``), on PostgreSQL: one refresh at a time (its advisory lock), so
none fails on the facts' key nor deadlocks, and the facts are the records' after.

Eight threads, released at once, each in its own transaction with real commits: each
notes the same five grants (whose facts are gone: each refresh writes them anew), takes
its notes and refreshes, holding its transaction open a moment. Without the lock the
second writer of a grant's facts fails on their primary key once the first commits."""

import time

import pytest
from django.db import transaction

from analytics import cycletimes
from analytics.cycletimes_sql import cycle_times_postgres, refresh_cycle_facts
from analytics.models import GrantCycleDirty, GrantCycleFacts
from bench.portfolio import generate_portfolio
from grants.models import Grant, GrantStatus
from tests.concurrency import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def refresh_noting(ids):
    with transaction.atomic():
        GrantCycleDirty.objects.bulk_create(GrantCycleDirty(grant_id=pk) for pk in ids)
        refresh_cycle_facts()
        time.sleep(0.1)


def test_refreshes_of_the_same_grants_at_once_wait_for_each_other():
    generate_portfolio(grants=40, seed=2)
    grants = Grant.objects.all()
    with transaction.atomic():
        cycle_times_postgres(grants, "quarter")  # every grant's facts, once
    ids = list(
        Grant.objects.exclude(status=GrantStatus.DRAFT).order_by("pk").values_list("pk", flat=True)
    )[:5]
    assert len(ids) == 5
    GrantCycleFacts.objects.filter(grant_id__in=ids).delete()
    for _ in range(3):
        at_once([lambda: refresh_noting(ids)] * THREADS)
        assert GrantCycleFacts.objects.filter(grant_id__in=ids).count() == 5
        assert not GrantCycleDirty.objects.exists()
        with transaction.atomic():
            found = cycle_times_postgres(grants, "quarter")
        assert found == cycletimes.cycle_times_python(grants, "quarter")
        GrantCycleFacts.objects.filter(grant_id__in=ids).delete()
