"""The grant endpoints run a constant number of queries, whatever the number of grants,
history rows, exchanges or countries: pinned at 10 and at 200 rows.

The rows are made with bulk_create (and the many-to-many through tables) for speed; the
workflow and money are not under test here, only how the endpoints read.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from grants.models import Disbursement, Exchange, Grant, GrantHistory, GrantStatus
from partners.models import Country, Partner, PartnerKind, Sector
from tests.factories import PartnerFactory

S = GrantStatus
pytestmark = pytest.mark.django_db
SIZES = [10, 200]

# The number of queries of each request, whatever the size (see each test for the list).
# The list and the detail read their three many-to-many relations in one query.
LIST_QUERIES = 4
LIST_BY_COUNTRY_QUERIES = 5
# The detail reads them in the grant's own statement on PostgreSQL (one query fewer).
DETAIL_QUERIES = 2 if connection.vendor == "postgresql" else 3
HISTORY_QUERIES = 3
EXCHANGES_QUERIES = 6
DISBURSEMENTS_QUERIES = 4


def bulk_grants(n: int, leader, statuses=(S.APPROVED, S.SUBMITTED, S.CLOSED, S.DRAFT)) -> list:
    """n grants, each with three recipient countries, two providers and a partner."""
    sector = Sector.objects.get(code="16010")
    countries = list(Country.objects.filter(region="AFR").order_by("code")[:20])
    partner = Partner.objects.filter(kind=PartnerKind.TRADITIONAL_DONOR).first() or PartnerFactory()
    grants = Grant.objects.bulk_create(
        Grant(
            reference=f"SEETF-2026-{i + 1:04d}",
            title=f"Grant number {i}",
            summary="Peer learning between African ministries.",
            task_team_leader=leader,
            sector=sector,
            region="AFR",
            requested_usd=Decimal("1000.00") + i,
            approved_usd=(Decimal("1000.00") + i)
            if statuses[i % len(statuses)] in (S.APPROVED, S.CLOSED)
            else None,
            status=statuses[i % len(statuses)],
            planned_start=date(2026, 1, 1),
            planned_end=date(2026, 6, 30),
            completion_report_due=date(2026, 8, 29),
        )
        for i in range(n)
    )
    through = Grant.recipient_countries.through
    through.objects.bulk_create(
        through(grant_id=g.pk, country_id=countries[(i + k) % 10].code)
        for i, g in enumerate(grants)
        for k in range(3)
    )
    through = Grant.provider_countries.through
    through.objects.bulk_create(
        through(grant_id=g.pk, country_id=countries[10 + (i + k) % 10].code)
        for i, g in enumerate(grants)
        for k in range(2)
    )
    through = Grant.facilitating_partners.through
    through.objects.bulk_create(through(grant_id=g.pk, partner_id=partner.pk) for g in grants)
    return grants


@pytest.mark.parametrize("n", SIZES)
def test_the_list_with_filters_runs_constant_queries(
    fresh_client, n, leader, fund_manager, django_assert_num_queries
):
    bulk_grants(n, leader)
    client = fresh_client(fund_manager)
    url = (
        "/api/v1/grants/?page_size=500&status=approved&status=submitted&status=closed"
        "&region=AFR&min_usd=1&search=grant&ordering=-requested_usd&triangular=true"
    )
    # roles; count; the page; its recipients, providers and partners.
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    assert response.json()["count"] == n - n // 4  # every status but draft
    assert len(response.json()["results"][0]["recipient_countries"]) == 3


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("role", ["leader", "donor"])
def test_the_list_runs_constant_queries_for_every_role(
    fresh_client, n, role, leader, django_assert_num_queries
):
    bulk_grants(n, leader)
    client = fresh_client(role)
    # roles; the country filtered on (validated); count; the page; its recipients,
    # providers and partners.
    with django_assert_num_queries(LIST_BY_COUNTRY_QUERIES):
        response = client.get("/api/v1/grants/?page_size=500&recipient_country=BEN")
    assert response.status_code == 200
    assert response.json()["count"] > 0


@pytest.mark.parametrize("n", SIZES)
def test_the_detail_runs_constant_queries(
    fresh_client, n, leader, fund_manager, django_assert_num_queries
):
    grants = bulk_grants(n, leader, statuses=(S.APPROVED,))
    # A grant with many countries reads them in one query each as well.
    countries = Country.objects.exclude(region="AFR").order_by("code")[:n]
    grants[0].recipient_countries.add(*countries)
    client = fresh_client(fund_manager)
    # roles; the grant, with its report's state for allowed_actions; its recipients,
    # providers and partners (with the grant on PostgreSQL).
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(f"/api/v1/grants/{grants[0].pk}/")
    assert response.status_code == 200
    assert len(response.json()["recipient_countries"]) == 3 + len(countries)


@pytest.mark.parametrize("n", SIZES)
def test_the_history_runs_constant_queries(
    fresh_client, n, leader, fund_manager, django_assert_num_queries
):
    grant = bulk_grants(1, leader, statuses=(S.SUBMITTED,))[0]
    actors = [leader, fund_manager]
    GrantHistory.objects.bulk_create(
        GrantHistory(
            grant=grant,
            actor=actors[i % 2],
            action="return" if i % 2 else "submit",
            from_status=S.SUBMITTED if i % 2 else S.RETURNED,
            to_status=S.RETURNED if i % 2 else S.SUBMITTED,
            comment=f"Round {i}",
        )
        for i in range(n)
    )
    client = fresh_client(fund_manager)
    # roles; the grant; the rows joined with their actors.
    with django_assert_num_queries(HISTORY_QUERIES):
        response = client.get(f"/api/v1/grants/{grant.pk}/history/")
    assert response.status_code == 200
    assert len(response.json()) == n
    assert response.json()[1]["actor"] == fund_manager.username


@pytest.mark.parametrize("n", SIZES)
def test_the_exchanges_list_runs_constant_queries(
    fresh_client, n, leader, fund_manager, django_assert_num_queries
):
    grant = bulk_grants(1, leader, statuses=(S.APPROVED,))[0]
    exchanges = Exchange.objects.bulk_create(
        Exchange(
            grant=grant,
            instrument="workshop",
            title=f"Workshop {i}",
            start_date=date(2026, 1, 1) + timedelta(days=i),
            end_date=date(2026, 1, 2) + timedelta(days=i),
            participants=10,
            women_participants=4,
        )
        for i in range(n)
    )
    for field, code in (("provider_countries", "BRA"), ("recipient_countries", "HTI")):
        through = getattr(Exchange, field).through
        through.objects.bulk_create(through(exchange_id=e.pk, country_id=code) for e in exchanges)
    client = fresh_client(leader)
    # roles; the grant; count; the page; providers, recipients.
    with django_assert_num_queries(EXCHANGES_QUERIES):
        response = client.get(f"/api/v1/grants/{grant.pk}/exchanges/?page_size=500")
    assert response.status_code == 200
    assert response.json()["count"] == n
    assert response.json()["results"][-1]["recipient_countries"] == ["HTI"]


@pytest.mark.parametrize("n", SIZES)
def test_the_disbursements_list_runs_constant_queries(
    fresh_client, n, leader, fund_manager, django_assert_num_queries
):
    grant = bulk_grants(1, leader, statuses=(S.APPROVED,))[0]
    Disbursement.objects.bulk_create(
        Disbursement(grant=grant, amount_usd=Decimal("1.00"), disbursed_on=date(2026, 2, 1))
        for _ in range(n)
    )
    client = fresh_client(fund_manager)
    # roles; the grant; count; the page.
    with django_assert_num_queries(DISBURSEMENTS_QUERIES):
        response = client.get(f"/api/v1/grants/{grant.pk}/disbursements/?page_size=500")
    assert response.status_code == 200
    assert response.json()["count"] == n
