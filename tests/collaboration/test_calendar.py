"""The calendar of what is due: a leader's own grants, the fund's for fund managers; the
page, and the iCalendar feed at a secret address that a reset retires (404)."""

from datetime import date

import pytest
import time_machine
from icalendar import Calendar

from collaboration import calendars, services
from collaboration.models import CalendarFeed
from grants import services as grant_services
from grants.models import GrantStatus
from partners.roles import user_roles
from results.models import ExPostCheck
from tests.conftest import read_afresh
from tests.grants.factories import make_exchange, make_grant

pytestmark = pytest.mark.django_db
TODAY = date(2026, 7, 1)


@pytest.fixture
def portfolio(funded, leader, leader2, fund_manager):
    """Approved grants of both leaders (reports due 2026-08-29), each with a planned
    exchange and a held one; a draft with a planned exchange; a closed grant."""
    grants = {}
    for owner in (leader, leader2):
        grant = make_grant(owner, GrantStatus.APPROVED, manager=fund_manager, title=f"Of {owner}")
        make_exchange(grant, fund_manager, title=f"Tour {owner}", start_date=date(2026, 9, 1),
                      end_date=date(2026, 9, 4))  # fmt: skip
        held = make_exchange(grant, fund_manager, title=f"Held {owner}")
        grant_services.exchange_update(exchange=held, user=fund_manager, status="held")
        grants[owner.username] = grant
    draft = make_grant(leader, title="Draft")
    make_exchange(draft, leader, title="Draft tour", start_date=date(2026, 10, 1),
                  end_date=date(2026, 10, 2))  # fmt: skip
    closed = make_grant(leader, GrantStatus.CLOSED, manager=fund_manager)
    ExPostCheck.objects.filter(grant=closed).delete()  # they have a test of their own
    return grants


def entries(user):
    with time_machine.travel(TODAY):
        return [
            (e.kind, e.title, e.starts.isoformat())
            for e in calendars.calendar_entries(user, start=date(2026, 6, 1), end=date(2027, 7, 1))
        ]


def test_a_leader_sees_their_own_grants_and_a_fund_manager_the_funds(
    portfolio, leader, leader2, fund_manager, donor
):
    ref = portfolio["ttl"].reference
    assert entries(leader) == [
        ("report_due", f"Completion report due: {ref}", "2026-08-29"),
        ("exchange", f"Tour ttl ({ref})", "2026-09-01"),
        ("exchange", "Draft tour (draft)", "2026-10-01"),
    ]
    assert len(entries(leader2)) == 2
    # The fund: every grant's (but a leader's draft, which fund managers do not see).
    kinds = [kind for kind, *_ in entries(fund_manager)]
    assert sorted(kinds) == ["exchange", "exchange", "report_due", "report_due"]
    assert entries(donor) == []


def test_the_calendar_reads_one_query_per_source(
    portfolio, fund_manager, django_assert_num_queries
):
    user = read_afresh(fund_manager)
    user_roles(user)  # the roles, which every request reads once anyway
    with django_assert_num_queries(len(calendars.SOURCES)):
        calendars.calendar_entries(user, start=date(2026, 1, 1), end=date(2027, 1, 1))


def test_the_feed_is_an_icalendar_file_at_a_secret_address(web, portfolio, leader):
    client = web(leader)
    page = client.get("/calendar/")
    assert page.status_code == 200
    feed = CalendarFeed.objects.get(user=leader)
    assert len(feed.token) >= 40
    assert f"/calendar/{feed.token}.ics" in page.content.decode()

    with time_machine.travel(TODAY):
        response = web().get(f"/calendar/{feed.token}.ics")  # no login
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    calendar = Calendar.from_ical(response.content)
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    grant = portfolio["ttl"]
    due = events[f"Completion report due: {grant.reference}"]
    assert due.decoded("dtstart") == date(2026, 8, 29)
    assert due.decoded("dtend") == date(2026, 8, 30)
    assert str(due["url"]) == f"https://seetf.example.org/grants/{grant.pk}/report/"
    assert str(due["uid"]) == f"report-due-{grant.pk}@seetf.example.org"
    tour = events[f"Tour ttl ({grant.reference})"]
    assert (tour.decoded("dtstart"), tour.decoded("dtend")) == (date(2026, 9, 1), date(2026, 9, 5))
    assert len(events) == 3


def test_resetting_the_address_retires_the_old_one(web, portfolio, leader, leader2):
    old = services.calendar_feed_for(leader).token
    other = services.calendar_feed_for(leader2).token
    client = web(leader)
    response = client.post("/calendar/reset/")
    assert response.status_code == 302
    new = CalendarFeed.objects.get(user=leader).token
    assert new != old
    anonymous = web()
    assert anonymous.get(f"/calendar/{old}.ics").status_code == 404
    assert anonymous.get(f"/calendar/{new}.ics").status_code == 200
    assert anonymous.get(f"/calendar/{other}.ics").status_code == 200
    assert anonymous.get("/calendar/not-a-token.ics").status_code == 404
    assert CalendarFeed.objects.get(user=leader2).token == other


def test_an_inactive_users_feed_is_gone(web, portfolio, leader):
    token = services.calendar_feed_for(leader).token
    leader.is_active = False
    leader.save()
    assert web().get(f"/calendar/{token}.ics").status_code == 404


def test_the_calendar_page_needs_a_login_and_reset_a_post(web, leader):
    assert web().get("/calendar/").status_code == 302
    assert web(leader).get("/calendar/reset/").status_code == 405


def test_the_page_lists_what_is_due(web, portfolio, fund_manager):
    with time_machine.travel(TODAY):
        html = web(fund_manager).get("/calendar/").content.decode()
    assert html.count('data-testid="calendar-entry"') == 4
    assert portfolio["ttl2"].reference in html


def test_the_ex_post_checks_still_to_file_are_due_on_their_day(funded, leader, fund_manager):
    """Closing a grant makes its two checks (results.receivers); the one filed leaves the
    calendar, the other is due on its day, linked to its form."""
    closed = make_grant(leader, GrantStatus.CLOSED, manager=fund_manager, title="Closed")
    six, twelve = ExPostCheck.objects.filter(grant=closed).order_by("months_after_close")
    ExPostCheck.objects.filter(pk=six.pk).update(submitted_at=six.created_at, submitted_by=leader)
    span = {"start": six.closed_on, "end": twelve.due_on}
    assert [
        (e.kind, e.title, e.starts, e.path) for e in calendars.calendar_entries(leader, **span)
    ] == [
        (
            "ex_post_due",
            f"12-month ex-post check due: {closed.reference}",
            twelve.due_on,
            f"/grants/{closed.pk}/ex-post/12/",
        )
    ]
