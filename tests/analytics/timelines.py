"""Five grants whose every step is taken through the services at a known time (the clock
travelled with time-machine), in the fund's time zone Europe/Copenhagen, so that every
figure of the cycle-times report is known in advance:

- A, returned twice: submitted 2 March 2026, returned 5 March, resubmitted 9 March,
  returned 12 March, resubmitted 16 March, review 18 March, approved 23 March; disbursed
  1 April; exchange held from 4 May; report submitted 10 July (planned end 30 June),
  accepted 20 July; closed 31 July.
- B, never decided: submitted 10 March, review from 12 March, still under review.
- C, cancelled after one disbursement: submitted 20 March, approved 2 April (across the
  change to summer time), disbursed 10 April, cancelled 15 April.
- D, across the daylight-saving change: submitted 28 March 23:30 (CET, 22:30 UTC),
  approved 30 March 00:30 (CEST, 22:30 UTC on 29 March): 24 hours, two days in
  Copenhagen, one in UTC.
- E, report late: submitted 15 December 2025, approved 25 December, disbursed 30
  December, exchange held from 11 January 2026, report submitted 28 October 2026 (120
  days after the planned end), accepted 2 November.
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine

from grants import services
from grants.models import ExchangeStatus
from results import services as results_services
from tests.factories import fund_with
from tests.grants.factories import REPORT, grant_data

FUND_ZONE = "Europe/Copenhagen"
CPH = ZoneInfo(FUND_ZONE)


def at(year, month, day, hour=9, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=CPH)


def _step(moment, function, /, *args, **kwargs):
    with time_machine.travel(moment, tick=False):
        return function(*args, **kwargs)


def build(leader, manager) -> dict:
    """The five grants (A to E), made at their times; returns them by letter."""
    with time_machine.travel(at(2025, 11, 1), tick=False):
        fund_with("5000000.00")

    def create(title, when):
        return _step(
            when,
            services.grant_create,
            leader=leader,
            **grant_data(
                title=title, planned_start=date(2026, 1, 10), planned_end=date(2026, 6, 30)
            ),
        )

    def act(grant, when, action, user, **kwargs):
        return _step(
            when, services.grant_transition, grant=grant, user=user, action=action, **kwargs
        )

    def approve(grant, when):
        return act(grant, when, "approve", manager, approved_usd=grant.requested_usd)

    def disburse(grant, day):
        return _step(
            at(day.year, day.month, day.day, 11),
            services.disbursement_record,
            grant=grant,
            user=manager,
            amount_usd=Decimal("10000.00"),
            disbursed_on=day,
        )

    def exchange(grant, day):
        return _step(
            at(day.year, day.month, day.day, 8),
            services.exchange_create,
            grant=grant,
            user=manager,
            instrument="study_tour",
            title="A study tour",
            start_date=day,
            end_date=day,
            participants=10,
            women_participants=4,
            status=ExchangeStatus.HELD,
        )

    def report(grant, submitted, accepted):
        _step(
            submitted, results_services.completion_report_save, grant=grant, user=leader, **REPORT
        )
        _step(submitted, results_services.completion_report_submit, grant=grant, user=leader)
        if accepted:
            _step(accepted, results_services.completion_report_accept, grant=grant, user=manager)

    a = create("A: returned twice", at(2026, 2, 20))
    act(a, at(2026, 3, 2), "submit", leader)
    act(a, at(2026, 3, 5), "return", manager, comment="Say who will travel.")
    act(a, at(2026, 3, 9), "submit", leader)
    act(a, at(2026, 3, 12), "return", manager, comment="And the budget.")
    act(a, at(2026, 3, 16), "submit", leader)
    act(a, at(2026, 3, 18), "start-review", manager)
    a = approve(a, at(2026, 3, 23))
    disburse(a, date(2026, 4, 1))
    exchange(a, date(2026, 5, 4))
    report(a, at(2026, 7, 10), at(2026, 7, 20))
    act(a, at(2026, 7, 31), "close", manager)

    b = create("B: never decided", at(2026, 3, 1))
    act(b, at(2026, 3, 10), "submit", leader)
    act(b, at(2026, 3, 12), "start-review", manager)

    c = create("C: cancelled after one disbursement", at(2026, 3, 1))
    act(c, at(2026, 3, 20, 10), "submit", leader)
    c = approve(c, at(2026, 4, 2, 10))
    disburse(c, date(2026, 4, 10))
    act(c, at(2026, 4, 15), "cancel", manager, comment="The ministry withdrew.")

    d = create("D: across the change to summer time", at(2026, 3, 1))
    act(d, at(2026, 3, 28, 23, 30), "submit", leader)
    d = approve(d, at(2026, 3, 30, 0, 30))

    e = create("E: report late", at(2025, 12, 1))
    act(e, at(2025, 12, 15), "submit", leader)
    e = approve(e, at(2025, 12, 25))
    disburse(e, date(2025, 12, 30))
    exchange(e, date(2026, 1, 11))
    report(e, at(2026, 10, 28), at(2026, 11, 2))
    return {"A": a, "B": b, "C": c, "D": d, "E": e}
