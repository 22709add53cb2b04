"""The analytics pages: the Process page (fund managers), the exchanges' map on its own
page, the donor dashboard and the knowledge hub, and their downloads."""

import csv
import io
import re

import pytest
from django.core.management import call_command

from tests.analytics import timelines
from tests.analytics.test_review_2011 import BOX_FLOWS

pytestmark = pytest.mark.django_db


@pytest.fixture
def review(db):
    call_command("load_review_2011", stdout=open("/dev/null", "w"))


def test_the_process_page_is_for_fund_managers(web, db):
    assert web("fund_manager").get("/process/").status_code == 200
    assert web("task_team_leader").get("/process/").status_code == 403
    assert web("donor").get("/process/").status_code == 403
    response = web().get("/process/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_process_page_shows_the_trend_and_the_overdue(settings, web, leader, fund_manager):
    settings.TIME_ZONE = timelines.FUND_ZONE
    grants = timelines.build(leader, fund_manager)
    page = web("fund_manager").get("/process/").content.decode()
    # The chart with its text alternative, and the table beside it.
    assert 'data-testid="chart-cycle-times"' in page
    assert re.search(
        r"<desc id=\"chart-cycle-times-desc\">Submission to decision: 2025-Q4 10.0, 2026-Q1 13.0",
        page,
    )
    rows = re.findall(r'data-testid="trend-row" data-quarter="([^"]+)"', page)
    assert rows == ["2025-Q4", "2026-Q1"]
    # Overdue today (the real clock, long after the timelines): B's decision, D's steps.
    overdue = re.findall(
        r'data-testid="overdue-standard-row" data-grant="(\d+)" data-step="(\w+)"', page
    )
    assert overdue[0] == (str(grants["B"].pk), "submit_to_decision")
    assert (str(grants["D"].pk), "end_to_report") in overdue
    assert 'href="/api/v1/reports/cycle-times/?group_by=quarter&amp;format=csv"' in page


def test_the_home_page_lists_the_overdue_oldest_first(settings, web, leader, fund_manager):
    settings.TIME_ZONE = timelines.FUND_ZONE
    grants = timelines.build(leader, fund_manager)
    page = web("fund_manager").get("/").content.decode()
    assert 'data-testid="home-overdue-standards"' in page
    overdue = re.findall(
        r'data-testid="overdue-standard-row" data-grant="(\d+)" data-step="(\w+)"', page
    )
    assert overdue[:2] == [
        (str(grants["B"].pk), "submit_to_decision"),
        (str(grants["D"].pk), "decision_to_first_disbursement"),
    ]
    assert 'href="/process/"' in page


def test_the_map_page_draws_an_arc_per_flow(review, web):
    page = web().get("/flows/").content.decode()
    arcs = set(
        re.findall(r'data-testid="map-arc" data-provider="(\w+)" data-recipient="(\w+)"', page)
    )
    assert arcs == BOX_FLOWS
    assert (
        '<title id="exchange-map-title">' in page
        and '<desc id="exchange-map-desc">6 exchanges held' in page
    )
    # Every country of the atlas is drawn (Antarctica aside).
    assert page.count('<path d="M') >= 170
    assert len(re.findall(r'data-testid="flow-row"', page)) == len(BOX_FLOWS)
    assert 'data-testid="region-matrix"' in page


@pytest.mark.parametrize("who", ["anonymous", "donor", "fund_manager"])
def test_the_flows_download(review, web, who):
    client = web(None if who == "anonymous" else who)
    response = client.get("/flows/countries.csv")
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="seetf-exchange-flows-countries.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert {(row[0], row[2]) for row in rows[1:-1]} == BOX_FLOWS
    assert rows[-1][0] == "TOTAL"
    regions = client.get("/flows/regions.xlsx")
    assert regions.status_code == 200 and regions.content[:2] == b"PK"
    assert client.get("/flows/nothing.csv").status_code == 404


def test_the_hub_and_the_dashboard_show_the_map(review, web, donor):
    hub = web().get("/hub/").content.decode()
    assert 'data-testid="hub-map"' in hub and 'data-testid="map-arc"' in hub
    assert 'data-testid="flows-more"' in hub  # 38 flows, the 10 largest in the table
    dashboard = web("donor").get("/dashboard/").content.decode()
    assert 'data-testid="dashboard-map"' in dashboard
    assert len(re.findall(r'data-testid="map-arc"', dashboard)) == len(BOX_FLOWS)


def test_the_public_map_shows_only_published_grants(web, leader, fund_manager):
    from grants.models import ExchangeStatus, GrantStatus
    from tests.factories import fund_with
    from tests.grants.factories import make_exchange, make_grant

    fund_with("1000000.00")
    returned = make_grant(leader, GrantStatus.RETURNED, manager=fund_manager)
    make_exchange(returned, leader, status=ExchangeStatus.HELD)
    assert 'data-testid="map-arc"' not in web().get("/flows/").content.decode()
    approved = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    make_exchange(approved, fund_manager, status=ExchangeStatus.HELD)
    assert re.findall(
        r'data-provider="(\w+)" data-recipient="(\w+)"', web().get("/flows/").content.decode()
    ) == [("MEX", "HND")]


def test_the_process_page_overdue_list_follows_a_decision(settings, web, leader, fund_manager):
    """The process page keeps its overdue list like its report (the data cache): a
    decision on a proposal takes it off the list at the next request."""
    from grants import services as grant_services

    settings.TIME_ZONE = timelines.FUND_ZONE
    grants = timelines.build(leader, fund_manager)
    client = web("fund_manager")
    row = (str(grants["B"].pk), "submit_to_decision")
    pattern = r'data-testid="overdue-standard-row" data-grant="(\d+)" data-step="(\w+)"'
    assert row in re.findall(pattern, client.get("/process/").content.decode())
    grant_services.grant_transition(
        grant=grants["B"], user=fund_manager, action="reject", comment="Out of scope."
    )
    assert row not in re.findall(pattern, client.get("/process/").content.decode())
