"""The fund manager's home lists the first of the grants overdue against the service
standards: the same items, in the same order, as the whole list's first ones, on a
portfolio where many grants share the date their step began (ties broken by the grant's
id, not by the time of day) and where the fund's date is not UTC's (submissions and
approvals just after midnight in Copenhagen, the evening before in UTC)."""

from datetime import date, datetime, timedelta

import pytest
import time_machine

from analytics.cycletimes import overdue_against_standards
from grants import services
from grants.selectors import HOME_LIMIT, grants_visible_to
from tests.analytics.timelines import CPH, FUND_ZONE
from tests.factories import fund_with
from tests.grants.factories import grant_data

pytestmark = pytest.mark.django_db

STANDARDS = {
    "submit_to_decision": 20,
    "decision_to_first_disbursement": 30,
    "decision_to_first_exchange": 120,
    "end_to_report": 60,
}


def test_the_home_list_is_the_whole_lists_first_items(settings, web, leader, fund_manager):
    settings.TIME_ZONE = FUND_ZONE
    settings.SEETF_SERVICE_STANDARDS = STANDARDS
    with time_machine.travel(datetime(2026, 1, 5, 9, tzinfo=CPH), tick=False):
        fund_with("9000000.00")
    # At 00:20 on 1 September, one minute earlier for each grant made after: the later a
    # grant was made (the higher its id), the earlier it was submitted, and those from
    # the 21st on were submitted on 31 August (still the 31st in UTC for them all).
    midnight = datetime(2026, 9, 1, 0, 20, tzinfo=CPH)
    made = []
    # More grants at each step than the list's limit, so that each walk's limit cuts
    # through a day's ties.
    for index in range(2 * HOME_LIMIT + 10):
        with time_machine.travel(midnight - timedelta(days=30), tick=False):
            grant = services.grant_create(
                leader=leader,
                **grant_data(
                    title=f"Grant {index}",
                    planned_start=date(2026, 10, 1),
                    planned_end=date(2027, 6, 30),
                ),
            )
        with time_machine.travel(midnight - timedelta(minutes=index), tick=False):
            grant = services.grant_transition(grant=grant, user=leader, action="submit")
        made.append(grant)
    # Every other one approved at 00:25 on 1 September (22:25 UTC on 31 August), in
    # reverse order of its id: their first disbursement is owed from the day the others
    # of that day were submitted.
    for grant in reversed(made[::2]):
        with time_machine.travel(midnight + timedelta(minutes=5), tick=False):
            services.grant_transition(
                grant=grant,
                user=fund_manager,
                action="approve",
                approved_usd=grant.requested_usd,
            )
    whole = overdue_against_standards(grants_visible_to(fund_manager))
    assert len(whole) > HOME_LIMIT + 1
    steps = {item["step"] for item in whole[: HOME_LIMIT + 1]}
    assert {"submit_to_decision", "decision_to_first_disbursement"} <= steps
    days = [item["since"] for item in whole]
    assert len(set(days)) < len(days)  # ties

    response = web(fund_manager).get("/")
    assert response.status_code == 200
    manager = response.context["manager"]
    assert manager["overdue_standards"] == whole[:HOME_LIMIT]
    assert manager["more_overdue_standards"] is True
    # Again, from the statement compiled for the fund managers (PostgreSQL).
    again = web(fund_manager).get("/").context["manager"]
    assert again["overdue_standards"] == whole[:HOME_LIMIT]
