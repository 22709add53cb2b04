"""Reports refreshing the same grants' flow facts at the same moment (analytics
``refresh_flow_facts``), on PostgreSQL: one refresh at a time (its advisory lock), so
none fails on the facts' key nor deadlocks, the totals per status are moved once per
refresh, and the report is the records' after.

Eight threads, released at once, each in its own transaction with real commits: each
notes the same five grants, takes its notes and refreshes, holding its transaction open
a moment, after the records changed. Without the lock a refresh that read the old facts
before the one ahead of it committed takes them from the totals a second time (the
totals drift from the facts: the report is no longer the records')."""

import time

import pytest
from django.db import transaction
from django.db.models import F

from analytics import portfolio
from analytics.flows_sql import exchange_flows_postgres, refresh_flow_facts
from analytics.models import FlowTotals, GrantFlowDirty, GrantFlowFacts
from bench.portfolio import generate_portfolio
from grants.models import Exchange, ExchangeStatus, Grant, GrantStatus
from tests.concurrency import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
SCOPE = frozenset(GrantStatus.values) - {GrantStatus.DRAFT}


def refresh_noting(ids):
    with transaction.atomic():
        GrantFlowDirty.objects.bulk_create(GrantFlowDirty(grant_id=pk) for pk in ids)
        refresh_flow_facts()
        time.sleep(0.1)


def _report():
    grants = Grant.objects.filter(status__in=sorted(SCOPE))
    with transaction.atomic():
        found = exchange_flows_postgres(grants, "country", SCOPE)
    assert found == portfolio.flows_of(portfolio._flow_data(grants), "country")
    return found


def test_refreshes_of_the_same_grants_at_once_wait_for_each_other():
    generate_portfolio(grants=40, seed=2)
    before = _report()  # every grant's facts, once
    ids = sorted(
        set(
            Exchange.objects.filter(status=ExchangeStatus.HELD)
            .exclude(grant__status=GrantStatus.DRAFT)
            .values_list("grant_id", flat=True)
        )
    )[:5]
    assert len(ids) == 5
    facts = GrantFlowFacts.objects.filter(grant_id__in=ids).count()
    assert facts
    for _ in range(3):
        # The records change (the facts kept are now old), the notes are dropped: the
        # threads' own notes make the refreshes.
        Exchange.objects.filter(grant_id__in=ids, status=ExchangeStatus.HELD).update(
            participants=F("participants") + 2
        )
        GrantFlowDirty.objects.all().delete()
        at_once([lambda: refresh_noting(ids)] * THREADS)
        assert GrantFlowFacts.objects.filter(grant_id__in=ids).count() == facts
        assert not GrantFlowDirty.objects.exists()
        assert not FlowTotals.objects.filter(grants__lt=0).exists()
        after = _report()
        assert after["totals"]["participants"] > before["totals"]["participants"]
        before = after
