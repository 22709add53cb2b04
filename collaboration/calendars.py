"""The calendar of what is due: for a task team leader, their own grants; for a fund
manager, the fund's. On the page ``/calendar/`` and as each user's iCalendar feed.

``SOURCES`` is the one list of what the calendar shows: each source is a function
``(grants, start, end) -> [Entry]`` given the grants the calendar covers and the dates
it spans, reading what falls due in one query. A new kind of due date (the ex-post
checks of ``results``, for one) is one more function in the list.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from grants.models import Exchange, ExchangeStatus, Grant, GrantStatus
from grants.selectors import grants_visible_to
from partners.roles import is_fund_manager
from results.models import ExPostCheck

# The page shows from a month back (what is overdue) to a year ahead; the feed more.
PAGE_BEHIND, PAGE_AHEAD = timedelta(days=31), timedelta(days=366)
FEED_BEHIND, FEED_AHEAD = timedelta(days=366), timedelta(days=2 * 366)


@dataclass(frozen=True)
class Entry:
    kind: str  # report_due | exchange | ex_post_due
    uid: str  # stable across feeds, for calendar programs to update an event in place
    starts: date
    ends: date  # the last day, included
    title: str
    grant_id: int
    grant_reference: str
    path: str

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}{self.path}"


def calendar_grants(user):
    """The grants a user's calendar covers: the ones they lead and, for a fund manager,
    every grant they see (the fund's). Others (donors, window managers who lead
    nothing) have an empty calendar."""
    if not user or not user.is_authenticated:
        return Grant.objects.none()
    if is_fund_manager(user):
        return grants_visible_to(user)
    return Grant.objects.filter(task_team_leader=user)


def reports_due(grants, start: date, end: date) -> list[Entry]:
    """The completion reports still to submit: approved grants, by their due date."""
    rows = (
        grants.filter(
            status=GrantStatus.APPROVED,
            completion_report_due__isnull=False,
            completion_report_due__range=(start, end),
        )
        .order_by()
        .values_list("pk", "reference", "title", "completion_report_due")
    )
    return [
        Entry(
            kind="report_due",
            uid=f"report-due-{pk}",
            starts=due,
            ends=due,
            title=_("Completion report due: %(grant)s") % {"grant": reference or title},
            grant_id=pk,
            grant_reference=reference,
            path=f"/grants/{pk}/report/",
        )
        for pk, reference, title, due in rows
    ]


def exchanges_planned(grants, start: date, end: date) -> list[Entry]:
    """The exchanges still planned (not yet held nor cancelled) of grants that are not
    closed, rejected or cancelled, over the days they are planned."""
    rows = (
        Exchange.objects.filter(
            grant__in=grants.exclude(
                status__in=[GrantStatus.REJECTED, GrantStatus.CANCELLED, GrantStatus.CLOSED]
            ),
            status=ExchangeStatus.PLANNED,
            start_date__lte=end,
            end_date__gte=start,
        )
        .order_by()
        .values_list("pk", "title", "start_date", "end_date", "grant_id", "grant__reference")
    )
    return [
        Entry(
            kind="exchange",
            uid=f"exchange-{pk}",
            starts=starts,
            ends=ends,
            title=f"{title} ({reference or _('draft')})",
            grant_id=grant_id,
            grant_reference=reference,
            path=f"/grants/{grant_id}/#exchanges",
        )
        for pk, title, starts, ends, grant_id, reference in rows
    ]


def ex_post_checks_due(grants, start: date, end: date) -> list[Entry]:
    """The ex-post checks (6 and 12 months after closing) not yet filed, by their due
    date; the leader files them on ``/grants/<id>/ex-post/<months>/``."""
    rows = (
        ExPostCheck.objects.filter(
            grant__in=grants,
            submitted_at__isnull=True,
            due_on__range=(start, end),
        )
        .order_by()
        .values_list("pk", "months_after_close", "due_on", "grant_id", "grant__reference")
    )
    return [
        Entry(
            kind="ex_post_due",
            uid=f"ex-post-{pk}",
            starts=due,
            ends=due,
            title=_("%(months)s-month ex-post check due: %(reference)s")
            % {"months": months, "reference": reference},
            grant_id=grant_id,
            grant_reference=reference,
            path=f"/grants/{grant_id}/ex-post/{months}/",
        )
        for pk, months, due, grant_id, reference in rows
    ]


SOURCES = [reports_due, exchanges_planned, ex_post_checks_due]


def calendar_entries(user, *, start: date, end: date) -> list[Entry]:
    """What is due for the user between ``start`` and ``end``, by date: one query per
    source, whatever the number of grants."""
    grants = calendar_grants(user)
    entries = [entry for source in SOURCES for entry in source(grants, start, end)]
    return sorted(entries, key=lambda e: (e.starts, e.kind, e.title, e.uid))


def ics(user, *, today: date, stamp) -> bytes:
    """The user's calendar as an iCalendar file (RFC 5545): an all-day event per entry."""
    calendar = Calendar()
    calendar.add("prodid", "-//SEETF//Grant calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _("SEETF: what is due"))
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]
    for entry in calendar_entries(user, start=today - FEED_BEHIND, end=today + FEED_AHEAD):
        event = Event()
        event.add("uid", f"{entry.uid}@{host}")
        event.add("dtstamp", stamp)
        event.add("summary", entry.title)
        event.add("dtstart", entry.starts)
        event.add("dtend", entry.ends + timedelta(days=1))  # exclusive, all-day
        event.add("url", entry.url)
        event.add("description", entry.url)
        calendar.add_component(event)
    return calendar.to_ical()
