"""Every benchmarked endpoint runs the same number of queries at 20 and at 200 grants of
a generated portfolio (the benchmark, bench/run, measures them at 2,000 and 20,000).

Counted with force_authenticate: the token's query (one more under the benchmark) is
not included.
"""

import os

import pytest
from django.db import connection

from brokering.models import ExchangeRequest, RequestStatus
from grants.models import Grant, GrantStatus

pytestmark = pytest.mark.django_db
# SEETF_PERF_SIZES=2000,20000 checks the benchmark's sizes by hand (minutes, on PostgreSQL).
SIZES = [int(n) for n in os.environ.get("SEETF_PERF_SIZES", "20,200").split(",")]

# (name, role, url, queries, what the queries are). Where PostgreSQL computes a report
# in one statement (analytics.cycletimes_sql, flows_sql) or scores the candidates in the
# database (brokering.scoring), queries is (on PostgreSQL, elsewhere).
ENDPOINTS = [
    ("fund summary", "donor", "/api/v1/fund/", 2, "roles; the ledger with its sums"),
    ("grant list", "fund_manager", "/api/v1/grants/", 4, "roles; count; page; relations"),
    (
        "grant list, filtered and ordered, page 2",
        "fund_manager",
        "/api/v1/grants/?status=closed&status=completed&ordering=-requested_usd&page=2&page_size=5",
        4,
        "roles; count; page; relations",
    ),
    (
        "grant list by keyset cursor",
        "fund_manager",
        "/api/v1/grants/?status=closed&status=completed&ordering=-requested_usd&cursor=",
        4,
        "roles; count; page; relations",
    ),
    (
        "grant detail",
        "task_team_leader",
        "/api/v1/grants/{grant}/",
        (2, 3),
        "roles; grant, with its report's state for allowed_actions, and on PostgreSQL its "
        "relations (elsewhere one more query)",
    ),
    (
        "grant detail in a funding window, awaiting a decision",
        "fund_manager",
        "/api/v1/grants/{window_grant}/",
        (5, 6),
        "roles; grant (with its relations on PostgreSQL); the window's guards: its window, "
        "sectors, the recipients",
    ),
    (
        "grant detail in a funding window, for its approver",
        "window_manager",
        "/api/v1/grants/{window_grant}/",
        (6, 7),
        "roles; the approver's windows (scope is a subquery); grant (with its relations on "
        "PostgreSQL); the approver's limits; the window's guards: window, sectors, recipients",
    ),
    (
        "grant list of a window manager",
        "window_manager",
        "/api/v1/grants/",
        4,
        "roles; count; page; relations",
    ),
    (
        "funding windows",
        "donor",
        "/api/v1/windows/",
        3,
        "roles; page with the count (COUNT(*) OVER ()); relations",
    ),
    (
        "donor dashboard",
        "donor",
        "/api/v1/dashboards/donor/",
        9,
        "roles; partner; contributions; fund; portfolio; sector names; windows; outcome totals; "
        "co-financing",
    ),
    (
        "capacity-outcomes report",
        "fund_manager",
        "/api/v1/reports/capacity-outcomes/",
        2,
        "roles; the rows (the totals are counted over them)",
    ),
    (
        "capacity-outcomes report as CSV",
        "donor",
        "/api/v1/reports/capacity-outcomes/?format=csv",
        2,
        "roles; the rows",
    ),
    (
        "cycle-times report",
        "fund_manager",
        "/api/v1/reports/cycle-times/?group_by=quarter",
        (6, 3),
        "roles; PostgreSQL: the grants noted since the facts were computed (here all: the "
        "portfolio was just made), the refreshes' lock, their facts deleted, computed "
        "again, the report; "
        "elsewhere: the grants with their step times, their history (streamed)",
    ),
    (
        "cycle-times report by instrument, as CSV",
        "donor",
        "/api/v1/reports/cycle-times/?group_by=instrument&format=csv",
        (3, 4),
        "roles; PostgreSQL: the grants noted (none since the report above), the report; "
        "elsewhere: the grants with their step times, their "
        "history, the instruments used",
    ),
    (
        "portfolio-indicators report",
        "fund_manager",
        "/api/v1/reports/portfolio-indicators/",
        (9, 4),
        "roles; PostgreSQL: the grants noted since the facts kept with the exchange flows "
        "were computed (here all: the portfolio was just made), the refreshes' lock, their "
        "facts taken from the statuses' sums, deleted, computed again, added to the sums, "
        "the sums of no grant deleted, the report (from the sums per status: a fund "
        "manager sees whole statuses); elsewhere: the grants' counts and average, the "
        "countries by role, the exchanges held",
    ),
    (
        "portfolio-indicators report, a period",
        "fund_manager",
        "/api/v1/reports/portfolio-indicators/?approved_from=2020-01-01",
        (3, 4),
        "roles; PostgreSQL: the grants noted (none since the report above), the report "
        "(from the facts of the grants in scope); elsewhere as above",
    ),
    (
        "exchange-flows report by region",
        "donor",
        "/api/v1/reports/exchange-flows/?by=region",
        (3, 6),
        "roles; PostgreSQL: the grants noted (none since the reports above), the report "
        "(from the sums per status: a donor sees whole statuses); elsewhere: the "
        "exchanges held, their providers, their recipients, the grants' providers, the "
        "grants' recipients",
    ),
    (
        "exchange-flows report by country",
        "fund_manager",
        "/api/v1/reports/exchange-flows/?by=country",
        (3, 6),
        "roles; PostgreSQL: the grants noted (none since the report above), the report; "
        "elsewhere as by region",
    ),
    (
        "exchange-flows report by country, of a region",
        "fund_manager",
        "/api/v1/reports/exchange-flows/?by=country&region=AFR",
        (3, 6),
        "as by country (PostgreSQL: from the facts of the grants in scope)",
    ),
    (
        "offers catalogue search",
        "donor",
        "/api/v1/offers/?search=experience&language=en",
        4,
        "roles; count; the page with its capacity; their sectors",
    ),
    (
        "request suggestions",
        "task_team_leader",
        "/api/v1/requests/{request}/suggestions/",
        (8, 9),
        "roles; the request; its sectors; PostgreSQL: the candidates with their signals, "
        "the evidence, the reasons' details; elsewhere: the candidates, their sectors, their "
        "matches this year, the evidence; the offers shown; their sectors",
    ),
    (
        "knowledge hub search",
        "donor",
        "/api/v1/results-stories/?search=reform",
        3,
        "roles; page with the count (COUNT(*) OVER ()); relations",
    ),
]


@pytest.mark.parametrize("n", SIZES)
def test_each_endpoint_runs_the_same_queries_at_any_size(
    fresh_client, n, portfolio, role_users, django_assert_num_queries
):
    portfolio(n)
    users = role_users()
    grant = (
        Grant.objects.filter(
            task_team_leader=users["task_team_leader"], status=GrantStatus.APPROVED
        )
        .order_by("pk")
        .first()
    )
    window_grant = (
        Grant.objects.filter(
            window__isnull=False, status__in=[GrantStatus.SUBMITTED, GrantStatus.UNDER_REVIEW]
        )
        .order_by("pk")
        .first()
    )
    assert window_grant is not None, "the generated portfolio has pipeline grants in windows"
    users["window_manager"] = window_grant.window.approvers.get()
    request = ExchangeRequest.objects.filter(status=RequestStatus.OPEN).order_by("pk").first()
    for name, role, url, queries, _what in ENDPOINTS:
        if isinstance(queries, tuple):
            queries = queries[0] if connection.vendor == "postgresql" else queries[1]
        client = fresh_client(users[role])
        with django_assert_num_queries(queries, info=name):
            response = client.get(
                url.format(grant=grant.pk, window_grant=window_grant.pk, request=request.pk)
            )
        assert response.status_code == 200, (name, response.content[:300])


@pytest.mark.parametrize("n", SIZES)
def test_a_deep_page_costs_what_the_first_does(
    fresh_client, n, portfolio, role_users, django_assert_num_queries
):
    """Following `next` cursors to the end: the same queries on every page."""
    portfolio(n)
    users = role_users()
    url = "/api/v1/grants/?ordering=-requested_usd&page_size=7&cursor="
    pages = 0
    while url:
        client = fresh_client(users["fund_manager"])
        with django_assert_num_queries(4):
            body = client.get(url).json()
        url = body["next"]
        pages += 1
    assert pages == -(-body["count"] // 7)


# Each role's home page, signed in with a session as a browser is: the session's and
# the user's queries are counted too. (role, queries, what the queries are)
HOME_PAGES = [
    (
        "fund_manager",
        13,
        "session; user; the authenticator that verified the session; roles; review queue; "
        "overdue reports; reports to accept; grants to close; the fund's money; open alerts; "
        "overdue against the service standards; the open windows; the header's unread "
        "notifications",
    ),
    (
        "task_team_leader",
        5,
        "session; user; roles; their grants (with the latest return's comment of the "
        "returned ones); unread notifications",
    ),
    (
        "donor",
        13,
        "session; user; roles; membership; partner; contributions; fund; outcome totals; "
        "portfolio; sector names; windows; co-financing; unread notifications",
    ),
]


@pytest.mark.parametrize("n", SIZES)
def test_each_home_page_runs_the_same_queries_at_any_size(
    web, n, portfolio, role_users, django_assert_num_queries
):
    portfolio(n)
    users = role_users()
    for role, queries, _what in HOME_PAGES:
        client = web(users[role])
        with django_assert_num_queries(queries, info=f"home page ({role})"):
            response = client.get("/")
        assert response.status_code == 200, (role, response.content[:300])


# After the exchange (issue 19): the follow-up needs and ex-post checks, made for the
# generated portfolio's completed and closed grants, two needs each (one in three of them
# financed elsewhere) and, for closed grants, two checks closed two years ago (one in two
# filed). (name, role, url, queries, what the queries are)
FOLLOW_UP_ENDPOINTS = [
    (
        "follow-up report",
        "fund_manager",
        "/api/v1/reports/follow-up/",
        4,
        "roles; the rows; their totals; the needs grouped by grant (leverage)",
    ),
    (
        "follow-up report as CSV",
        "donor",
        "/api/v1/reports/follow-up/?format=csv",
        4,
        "roles; the rows; their totals; the needs grouped by grant",
    ),
    (
        "sustained-results report",
        "donor",
        "/api/v1/reports/sustained-results/",
        2,
        "roles; the rows (the totals are counted over them)",
    ),
    (
        "sustained-results report as XLSX",
        "fund_manager",
        "/api/v1/reports/sustained-results/?format=xlsx",
        2,
        "roles; the rows",
    ),
    ("follow-up needs", "fund_manager", "/api/v1/follow-up-needs/", 3, "roles; count; page"),
    (
        "a grant's ex-post checks",
        "donor",
        "/api/v1/grants/{closed}/ex-post-checks/",
        4,
        "roles; the grant; count; page",
    ),
]


def _after_the_exchange():
    """A closed grant with its ex-post checks: the generated portfolio holds follow-up
    needs, open and decided, and both checks of every closed grant (bench.portfolio)."""
    from results.models import ExPostCheck, FollowUpNeed, FollowUpStatus

    assert FollowUpNeed.objects.exclude(status=FollowUpStatus.OPEN).exists()
    check = ExPostCheck.objects.filter(submitted_at__isnull=False).order_by("grant_id").first()
    assert check is not None, "the generated portfolio has closed grants checked after"
    return check.grant_id


@pytest.mark.parametrize("n", SIZES)
def test_the_follow_up_endpoints_run_the_same_queries_at_any_size(
    fresh_client, n, portfolio, role_users, django_assert_num_queries
):
    portfolio(n)
    users = role_users()
    closed = _after_the_exchange()
    for name, role, url, queries, _what in FOLLOW_UP_ENDPOINTS:
        client = fresh_client(users[role])
        with django_assert_num_queries(queries, info=name):
            response = client.get(url.format(closed=closed))
        assert response.status_code == 200, (name, response.content[:300])
        if "reports/" in url and "format" not in url:
            assert response.json()["rows"], name
