"""The cycle-times report counts over each grant's kept facts (analytics.models,
analytics 0001): right after any change of what a grant's steps are made of (its
history, disbursements, exchanges, completion report, its own columns, the time zone),
read again without the data cache, it gives exactly what the computation from the
records in Python gives, and the change did move it."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from analytics import cycletimes
from analytics.cycletimes_sql import cycle_times_postgres
from analytics.models import GrantCycleDirty, GrantCycleFacts
from grants.models import (
    MAX_GRANT_USD,
    Disbursement,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
    GrantStatus,
)
from results.models import CompletionReport

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _same(group_by="quarter", grants=None):
    grants = grants if grants is not None else Grant.objects.all()
    found = cycle_times_postgres(grants, group_by)
    assert found == cycletimes.cycle_times_python(grants, group_by)
    return found


def _approved():
    return Grant.objects.filter(status=GrantStatus.APPROVED).order_by("pk")


def _history(grant, to_status, days_ago):
    GrantHistory.objects.create(
        grant=grant,
        at=timezone.now() - timedelta(days=days_ago),
        action="test",
        from_status=grant.status,
        to_status=to_status,
    )


CHANGES = {
    # A return to the leader and a resubmission: returns, the waits.
    "history": lambda: [
        (_history(g, GrantStatus.RETURNED, 3), _history(g, GrantStatus.SUBMITTED, 1))
        for g in Grant.objects.exclude(status=GrantStatus.DRAFT).order_by("pk")[:20]
    ],
    # A first disbursement long before the others.
    "disbursement": lambda: [
        Disbursement.objects.create(
            grant=g, amount_usd=1, disbursed_on=g.first_approved_on + timedelta(days=1)
        )
        for g in _approved().exclude(first_approved_on=None)[:20]
    ],
    "exchange held earlier": lambda: Exchange.objects.filter(
        grant__in=_approved()[:30], status=ExchangeStatus.HELD
    ).update(start_date=timezone.localdate() - timedelta(days=4000)),
    "exchange cancelled": lambda: Exchange.objects.filter(
        grant__in=_approved()[:30], status=ExchangeStatus.HELD
    ).update(status=ExchangeStatus.CANCELLED),
    "report": lambda: (
        CompletionReport.objects.exclude(submitted_at=None)
        .filter(pk__in=CompletionReport.objects.exclude(submitted_at=None).order_by("pk")[:30])
        .update(accepted_at=timezone.now() + timedelta(days=400))
    ),
    "report submitted earlier": lambda: CompletionReport.objects.filter(
        pk__in=CompletionReport.objects.exclude(submitted_at=None).order_by("pk")[:30]
    ).update(submitted_at=F("submitted_at") - timedelta(days=100)),
    "planned end": lambda: Grant.objects.filter(
        pk__in=Grant.objects.exclude(planned_end=None).order_by("pk")[:40]
    ).update(planned_end=F("planned_end") + timedelta(days=300)),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_report_right_after_a_change_is_the_records(portfolio_of_200, change):
    before = _same()
    assert before["totals"]["grants"] and not GrantCycleDirty.objects.exists()
    CHANGES[change]()
    assert GrantCycleDirty.objects.exists()
    after = _same()
    assert after != before
    assert not GrantCycleDirty.objects.exists()


@pytest.mark.parametrize("group_by", ["region", "window", "size_band", "sector"])
def test_a_grants_own_columns_move_it_between_groups(portfolio_of_200, group_by):
    before = _same(group_by)
    moved = Grant.objects.exclude(status=GrantStatus.DRAFT).order_by("pk")[:30]
    ids = list(moved.values_list("pk", flat=True))
    other = {
        "region": lambda g: {"region": "LCR" if g.region != "LCR" else "AFR"},
        "window": lambda g: {"window": None},
        "size_band": lambda g: {"requested_usd": MAX_GRANT_USD, "approved_usd": MAX_GRANT_USD},
        "sector": lambda g: {
            "sector_id": Grant.objects.exclude(sector_id=g.sector_id)
            .exclude(sector=None)
            .values_list("sector_id", flat=True)[0]
        },
    }[group_by]
    for grant in Grant.objects.filter(pk__in=ids):
        Grant.objects.filter(pk=grant.pk).update(**other(grant))
    assert _same(group_by) != before


def test_a_grants_other_columns_note_nothing(portfolio_of_200):
    _same()
    Grant.objects.filter(pk__in=Grant.objects.order_by("pk")[:10]).update(title="Renamed")
    assert not GrantCycleDirty.objects.exists()


def test_the_facts_follow_the_time_zone(portfolio_of_200):
    _same()
    zones = set(GrantCycleFacts.objects.values_list("zone", flat=True))
    assert zones == {timezone.get_default_timezone_name()}
    with override_settings(TIME_ZONE="Pacific/Kiritimati"):
        assert zones != {timezone.get_default_timezone_name()}
        _same()
        assert set(GrantCycleFacts.objects.values_list("zone", flat=True)) == {"Pacific/Kiritimati"}
    _same()


def test_a_change_notes_its_grant_only_and_the_report_takes_it(portfolio_of_200):
    _same()
    grant = Grant.objects.exclude(status=GrantStatus.DRAFT).order_by("pk").first()
    _history(grant, GrantStatus.RETURNED, 2)
    assert list(GrantCycleDirty.objects.values_list("grant_id", flat=True)) == [grant.pk]
    facts = GrantCycleFacts.objects.get(grant_id=grant.pk)
    _same("instrument")
    assert not GrantCycleDirty.objects.exists()
    assert GrantCycleFacts.objects.get(grant_id=grant.pk).returns == facts.returns + 1


@pytest.fixture
def portfolio_of_200(portfolio):
    return portfolio(200)


def test_beat_refreshes_the_facts_of_the_grants_changed_between_reports(portfolio_of_200):
    from django.conf import settings

    from analytics import tasks
    from seetf.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["refresh-cycle-facts"]
    assert entry["task"] == "analytics.tasks.refresh_cycle_facts"
    assert entry["task"] in app.tasks
    before = _same()
    grant = Grant.objects.exclude(status=GrantStatus.DRAFT).order_by("pk").first()
    facts = GrantCycleFacts.objects.get(grant_id=grant.pk)
    _history(grant, GrantStatus.RETURNED, 2)
    assert tasks.refresh_cycle_facts.delay().get() == {"refreshed": 1}
    assert not GrantCycleDirty.objects.exists()
    assert GrantCycleFacts.objects.get(grant_id=grant.pk).returns == facts.returns + 1
    assert tasks.refresh_cycle_facts.delay().get() == {"refreshed": 0}
    assert _same() != before  # the report reads the refreshed facts, nothing left noted
