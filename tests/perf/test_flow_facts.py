"""The exchange-flows report sums each grant's kept flow facts (analytics.models,
analytics 0002), or their totals per grant status for a scope of whole statuses: right
after any change of what a flow is made of (an exchange, its countries or its grant's,
a grant's status, a country's region), read again without the data cache, both give
exactly what pairing the records in Python gives, for every scope, and the change did
move it."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import portfolio
from analytics.flows_sql import (
    exchange_flows_both_postgres,
    exchange_flows_postgres,
    refresh_flow_facts,
)
from analytics.models import FlowTotals, GrantFlowDirty, GrantFlowFacts
from grants.models import (
    APPROVED_AND_LATER,
    MAX_GRANT_USD,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
    GrantStatus,
    Instrument,
)
from partners.models import Country, Region
from results.models import CompletionReport, ConcreteResult, ConcreteResultKind

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Scopes of whole statuses: what a fund manager, a donor (and the public), status
# filters see.
STATUS_SCOPES = (
    frozenset(GrantStatus.values) - {GrantStatus.DRAFT},
    frozenset(APPROVED_AND_LATER),
    frozenset({GrantStatus.CLOSED}),
    frozenset({GrantStatus.COMPLETED}),
)


def _python(grants, by):
    return portfolio.flows_of(portfolio._flow_data(grants), by)


def _same(by="country") -> dict:
    """Each scope's flows from the totals and from the facts, against Python's."""
    found = {}
    for statuses in STATUS_SCOPES:
        grants = Grant.objects.filter(status__in=sorted(statuses))
        expected = _python(grants, by)
        assert exchange_flows_postgres(grants, by, statuses) == expected
        assert exchange_flows_postgres(grants, by) == expected
        found[statuses] = expected
    grants = Grant.objects.filter(region=Region.AFR)
    assert exchange_flows_postgres(grants, by) == _python(grants, by)
    for statuses in (STATUS_SCOPES[1], None):  # the map's: both at once
        grants = Grant.objects.filter(status__in=sorted(STATUS_SCOPES[1]))
        both = exchange_flows_both_postgres(grants, statuses)
        assert both == {by: _python(grants, by) for by in portfolio.FLOW_BY}
    assert not GrantFlowDirty.objects.exists()
    found["indicators"] = _same_indicators()
    return found


def _records_indicators(grants):
    return portfolio._indicators_report(*portfolio._indicator_figures(grants))


def _same_indicators() -> dict:
    """The portfolio indicators from the sums per status and from the facts, against
    the records' (the ORM's three aggregates), for each scope of whole statuses, a
    period and a region."""
    found = {}
    for statuses in STATUS_SCOPES:
        approved = portfolio.approved_statuses(statuses)
        grants = portfolio.approved_in_period(Grant.objects.filter(status__in=sorted(statuses)))
        expected = _records_indicators(grants)
        assert portfolio.portfolio_indicators(grants, approved) == expected
        assert portfolio.portfolio_indicators(grants) == expected
        found[statuses] = expected
    for grants in (
        portfolio.approved_in_period(Grant.objects.all(), start=date(2024, 1, 1)),
        portfolio.approved_in_period(Grant.objects.filter(region=Region.AFR)),
    ):
        assert portfolio.portfolio_indicators(grants) == _records_indicators(grants)
    return found


def _held(count=20):
    return Exchange.objects.filter(
        pk__in=Exchange.objects.filter(status=ExchangeStatus.HELD)
        .exclude(grant__status=GrantStatus.DRAFT)
        .order_by("pk")
        .values("pk")[:count]
    )


def _with_own_countries():
    return _held(200).exclude(provider_countries=None).order_by("pk")


def _new_exchange():
    grant = Grant.objects.filter(status=GrantStatus.CLOSED).order_by("pk").first()
    exchange = Exchange.objects.create(
        grant=grant,
        instrument=Instrument.STUDY_TOUR,
        title="A new one",
        start_date=date(2026, 1, 5),
        end_date=date(2026, 1, 9),
        participants=12,
        women_participants=5,
        status=ExchangeStatus.HELD,
    )
    exchange.provider_countries.set(["IND", "BRA"])
    exchange.recipient_countries.set(["KEN"])


def _grant_moves():
    """Approved grants completed (with the history row the database asks for)."""
    for grant in Grant.objects.filter(status=GrantStatus.APPROVED).order_by("pk")[:15]:
        GrantHistory.objects.create(
            grant=grant,
            at=timezone.now(),
            action="test",
            from_status=grant.status,
            to_status=GrantStatus.COMPLETED,
        )
        Grant.objects.filter(pk=grant.pk).update(status=GrantStatus.COMPLETED)


def _grant_countries():
    """Grants whose exchanges name no recipient: the grant's stand in."""
    grants = Grant.objects.filter(
        pk__in=_held(400).filter(recipient_countries=None).values("grant_id")
    ).order_by("pk")[:10]
    assert grants
    for grant in grants:
        grant.recipient_countries.set(["ZMB"])


def _exchanges_naming_no_recipient():
    for exchange in _held(400).exclude(recipient_countries=None).order_by("pk")[:10]:
        exchange.recipient_countries.clear()


def _reports():
    return CompletionReport.objects.filter(
        grant__status__in=[GrantStatus.COMPLETED, GrantStatus.CLOSED]
    ).order_by("pk")[:10]


def _unused_country():
    used = set(Grant.provider_countries.through.objects.values_list("country_id", flat=True))
    used |= set(Exchange.provider_countries.through.objects.values_list("country_id", flat=True))
    return Country.objects.exclude(code__in=used).order_by("code").first().code


def _study_tours():
    held = _held(60).exclude(instrument=Instrument.STUDY_TOUR)
    assert held.exists()
    held.update(instrument=Instrument.STUDY_TOUR)


CHANGES = {
    "concrete results deleted": lambda: ConcreteResult.objects.filter(
        pk__in=ConcreteResult.objects.order_by("pk").values("pk")[:20]
    ).delete(),
    "study tours": _study_tours,
    "approved amounts": lambda: Grant.objects.filter(
        pk__in=Grant.objects.filter(approved_usd__lt=MAX_GRANT_USD - 100)
        .order_by("pk")
        .values("pk")[:20]
    ).update(approved_usd=F("approved_usd") + 100),
    "grant's provider countries": lambda: [
        grant.provider_countries.add(_unused_country())
        for grant in Grant.objects.filter(status=GrantStatus.CLOSED).order_by("pk")[:5]
    ],
    "exchange cancelled": lambda: _held().update(status=ExchangeStatus.CANCELLED),
    "participants": lambda: _held().update(
        participants=F("participants") + 7, women_participants=F("women_participants") + 3
    ),
    "exchange deleted": lambda: _held(30).filter(documents=None).delete(),
    "exchange held": _new_exchange,
    "exchange's providers": lambda: [
        e.provider_countries.set(["CHN"]) for e in _with_own_countries()[:15]
    ],
    "exchange's providers removed": lambda: [
        e.provider_countries.clear() for e in _with_own_countries()[:15]
    ],
    "exchange's recipients removed": _exchanges_naming_no_recipient,
    "grant's status": _grant_moves,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_report_right_after_a_change_is_the_records(portfolio_of_200, change):
    before = {by: _same(by) for by in portfolio.FLOW_BY}
    assert before["country"][STATUS_SCOPES[0]]["rows"] and FlowTotals.objects.exists()
    CHANGES[change]()
    assert GrantFlowDirty.objects.exists()
    after = {by: _same(by) for by in portfolio.FLOW_BY}
    assert after["country"] != before["country"]


def test_a_concrete_result_reported_is_in_the_indicators_at_once(portfolio_of_200):
    ConcreteResult.objects.filter(report__in=_reports()).delete()
    before = _same_indicators()
    for report in _reports():
        ConcreteResult.objects.create(
            report=report, kind=ConcreteResultKind.ACTION_PLAN, description="A plan"
        )
    assert GrantFlowDirty.objects.exists()
    assert _same_indicators() != before


def test_a_grant_approved_is_in_the_indicators_at_once(portfolio_of_200, leader, fund_manager):
    from tests.factories import fund_with
    from tests.grants.factories import make_grant

    before = _same_indicators()
    fund_with("10000000.00")
    make_grant(leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("12345.67"))
    after = _same_indicators()
    figures = {row["indicator"]: row["value"] for row in after[STATUS_SCOPES[0]]["rows"]}
    was = {row["indicator"]: row["value"] for row in before[STATUS_SCOPES[0]]["rows"]}
    assert figures["grants_approved"] == was["grants_approved"] + 1


def test_a_grants_countries_stand_in_for_an_exchange_that_names_none(portfolio_of_200):
    _exchanges_naming_no_recipient()
    before = _same()
    _grant_countries()
    assert GrantFlowDirty.objects.exists()
    after = _same()
    assert after != before
    assert any(row["recipient"] == "ZMB" for row in after[STATUS_SCOPES[0]]["rows"])


def test_a_countrys_region_moves_its_flows_between_regions(portfolio_of_200):
    before = _same("region")
    code = (
        GrantFlowFacts.objects.filter(kind="c")
        .values_list("provider", flat=True)
        .order_by("provider")
        .first()
    )
    country = Country.objects.get(code=code)
    other = Region.LCR if country.region != Region.LCR else Region.AFR
    Country.objects.filter(code=code).update(region=other)
    assert GrantFlowDirty.objects.exists()
    assert _same("region") != before


def test_an_exchanges_other_columns_note_nothing(portfolio_of_200):
    _same()
    _held().update(title="Renamed", location="Elsewhere")
    Grant.objects.filter(pk__in=Grant.objects.order_by("pk")[:10]).update(title="Renamed")
    assert not GrantFlowDirty.objects.exists()


def test_a_change_notes_its_grant_only_and_moves_the_totals_by_it(portfolio_of_200):
    _same()
    exchange = _held(1).get()
    grant = exchange.grant
    Exchange.objects.filter(pk=exchange.pk).update(participants=F("participants") + 10)
    assert list(GrantFlowDirty.objects.values_list("grant_id", flat=True)) == [grant.pk]
    total = FlowTotals.objects.get(status=grant.status, kind="t")
    assert refresh_flow_facts() == 1
    assert FlowTotals.objects.get(status=grant.status, kind="t").participants == (
        total.participants + 10
    )
    assert refresh_flow_facts() == 0


def test_the_totals_are_the_facts_summed(portfolio_of_200):
    _grant_moves()
    _same()
    summed = {}
    for fact in GrantFlowFacts.objects.all():
        key = (fact.status, fact.kind, fact.provider, fact.recipient)
        grants, exchanges, participants, women = summed.get(key, (0, 0, 0, 0))
        summed[key] = (
            grants + 1,
            exchanges + fact.exchanges,
            participants + fact.participants,
            women + fact.women,
        )
    kept = {
        (t.status, t.kind, t.provider, t.recipient): (
            t.grants,
            t.exchanges,
            t.participants,
            t.women,
        )
        for t in FlowTotals.objects.all()
    }
    assert kept == summed


def test_a_scope_of_whole_statuses_reads_the_totals_not_the_facts(portfolio_of_200):
    statuses = STATUS_SCOPES[0]
    grants = Grant.objects.filter(status__in=sorted(statuses))
    exchange_flows_postgres(grants, "country", statuses)  # the facts computed
    with CaptureQueriesContext(connection) as totals:
        exchange_flows_postgres(grants, "country", statuses)
    with CaptureQueriesContext(connection) as facts:
        exchange_flows_postgres(grants, "country")
    assert len(totals) == len(facts) == 2  # the grants noted (none), the sums
    assert FlowTotals._meta.db_table in totals[-1]["sql"]
    assert GrantFlowFacts._meta.db_table not in totals[-1]["sql"]
    assert GrantFlowFacts._meta.db_table in facts[-1]["sql"]


def test_beat_refreshes_the_flow_facts_of_the_grants_changed_between_reports(
    portfolio_of_200,
):
    from django.conf import settings

    from analytics import tasks
    from seetf.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["refresh-flow-facts"]
    assert entry["task"] == "analytics.tasks.refresh_flow_facts"
    assert entry["task"] in app.tasks
    _same()
    _held(3).update(participants=F("participants") + 1)
    noted = set(GrantFlowDirty.objects.values_list("grant_id", flat=True))
    assert tasks.refresh_flow_facts.delay().get() == {"refreshed": len(noted)}
    assert not GrantFlowDirty.objects.exists()
    assert tasks.refresh_flow_facts.delay().get() == {"refreshed": 0}
    _same()


@pytest.fixture
def portfolio_of_200(portfolio):
    return portfolio(200)


@pytest.mark.parametrize(
    ("role", "query", "statuses"),
    [
        ("fund_manager", "", STATUS_SCOPES[0]),
        ("fund_manager", "&status=closed", STATUS_SCOPES[2]),
        ("donor", "", STATUS_SCOPES[1]),
        ("fund_manager", "&region=AFR", None),
        ("leader", "", None),
    ],
)
def test_the_api_sums_the_totals_for_whole_statuses_and_the_facts_otherwise(
    portfolio_of_200, client_for, role, query, statuses
):
    client = client_for(role)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/reports/exchange-flows/?by=country{query}")
    assert response.status_code == 200
    report = queries[-1]["sql"]
    read = FlowTotals if statuses is not None else GrantFlowFacts
    assert read._meta.db_table in report
    if statuses is not None:
        expected = _python(Grant.objects.filter(status__in=sorted(statuses)), "country")
        assert response.json()["totals"] == expected["totals"]
        assert len(response.json()["rows"]) == len(expected["rows"])
