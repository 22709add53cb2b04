"""The cycle-times report and the overdue list on timelines with known answers
(tests/analytics/timelines.py), through the API and the CSV."""

import csv
import io
from datetime import date

import pytest

from analytics.cycletimes import overdue_against_standards, percentile
from grants.models import Grant
from tests.analytics import timelines
from tests.windows.factories import make_window

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/cycle-times/"
STANDARDS = {
    "submit_to_decision": 20,
    "decision_to_first_disbursement": 30,
    "decision_to_first_exchange": 120,
    "end_to_report": 60,
    "report_to_acceptance": 20,
}


@pytest.fixture
def fund_zone(settings):
    settings.TIME_ZONE = timelines.FUND_ZONE
    settings.SEETF_SERVICE_STANDARDS = STANDARDS


@pytest.fixture
def grants(fund_zone, leader, fund_manager):
    return timelines.build(leader, fund_manager)


# Every figure worked out by hand from the timelines (calendar days in Copenhagen):
# submit_to_decision A 21, C 13, D 2, E 10; first disbursement A 9, C 8, E 5; first
# exchange A 42, E 17; end to report A 10, E 120; report to acceptance A 10, E 5; submit
# to close A 151. Returns: A 2 of 5 grants. Waiting on the leader: A 4 + 4; on the fund:
# A 3 + 3 + 2 + 5, B 2 (its review has not ended), C 13, D 2, E 10.
TOTALS = {
    "grants": 5,
    "submit_to_decision_count": 4,
    "submit_to_decision_median_days": 11.5,
    "submit_to_decision_p80_days": 16.2,
    "submit_to_decision_within_standard_percent": 75.0,
    "decision_to_first_disbursement_count": 3,
    "decision_to_first_disbursement_median_days": 8.0,
    "decision_to_first_disbursement_p80_days": 8.6,
    "decision_to_first_disbursement_within_standard_percent": 100.0,
    "decision_to_first_exchange_count": 2,
    "decision_to_first_exchange_median_days": 29.5,
    "decision_to_first_exchange_p80_days": 37.0,
    "decision_to_first_exchange_within_standard_percent": 100.0,
    "end_to_report_count": 2,
    "end_to_report_median_days": 65.0,
    "end_to_report_p80_days": 98.0,
    "end_to_report_within_standard_percent": 50.0,
    "report_to_acceptance_count": 2,
    "report_to_acceptance_median_days": 7.5,
    "report_to_acceptance_p80_days": 9.0,
    "report_to_acceptance_within_standard_percent": 100.0,
    "submit_to_close_count": 1,
    "submit_to_close_median_days": 151.0,
    "submit_to_close_p80_days": 151.0,
    "submit_to_close_within_standard_percent": None,
    "returns": 0.4,
    "waiting_on_leader_median_days": 8.0,
    "waiting_on_leader_p80_days": 8.0,
    "waiting_on_fund_median_days": 10.0,
    "waiting_on_fund_p80_days": 13.0,
}


def test_the_totals_are_the_timelines_known_answers(grants, client_for):
    response = client_for("fund_manager").get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totals"] == TOTALS
    assert body["standards"] == STANDARDS


def test_by_quarter_of_first_submission(grants, client_for):
    body = client_for("fund_manager").get(URL + "?group_by=quarter").json()
    rows = {row["group"]: row for row in body["rows"]}
    assert list(rows) == ["2025-Q4", "2026-Q1"]
    q4, q1 = rows["2025-Q4"], rows["2026-Q1"]
    assert (
        q4["grants"],
        q4["submit_to_decision_median_days"],
        q4["end_to_report_median_days"],
    ) == (
        1,
        10.0,
        120.0,
    )
    assert q4["end_to_report_within_standard_percent"] == 0.0
    # A 21, C 13, D 2: two of three within 20 days.
    assert q1["grants"] == 4
    assert q1["submit_to_decision_median_days"] == 13.0
    assert q1["submit_to_decision_within_standard_percent"] == 66.7
    assert q1["returns"] == 0.5


def test_the_daylight_saving_change_counts_calendar_days_of_the_fund(grants, client_for, settings):
    """D waited 24 hours, from Saturday 23:30 to Monday 00:30 in Copenhagen: two days of
    the fund's calendar. In UTC the same 24 hours are one day (Saturday to Sunday)."""
    d = Grant.objects.filter(pk=grants["D"].pk)
    body = client_for("fund_manager").get(URL + f"?search={d.get().title[:2]}").json()
    assert body["totals"]["submit_to_decision_median_days"] == 2.0
    settings.TIME_ZONE = "UTC"
    body = client_for("fund_manager").get(URL + f"?search={d.get().title[:2]}").json()
    assert body["totals"]["submit_to_decision_median_days"] == 1.0


def test_grouped_by_instrument_region_sector_and_size(grants, client_for):
    client = client_for("fund_manager")
    by_instrument = client.get(URL + "?group_by=instrument").json()["rows"]
    assert [(row["group"], row["grants"]) for row in by_instrument] == [
        ("none", 3),
        ("study_tour", 2),
    ]
    by_region = client.get(URL + "?group_by=region").json()["rows"]
    assert [(row["group"], row["label"], row["grants"]) for row in by_region] == [
        ("LCR", "Latin America and the Caribbean", 5)
    ]
    by_sector = client.get(URL + "?group_by=sector").json()["rows"]
    assert [(row["group"], row["grants"]) for row in by_sector] == [("16010", 5)]
    by_size = client.get(URL + "?group_by=size_band").json()["rows"]
    assert [(row["group"], row["label"], row["grants"]) for row in by_size] == [
        ("100000-250000", "100,000 to 250,000 USD", 5)
    ]


def test_grouped_by_funding_window(grants, client_for, fund_manager):
    window = make_window(fund_manager, code="SML", name="Small grants", kind="small_grants")
    Grant.objects.filter(pk=grants["A"].pk).update(window=window)
    client = client_for("fund_manager")
    by_window = client.get(URL + "?group_by=window").json()["rows"]
    assert [(row["group"], row["label"], row["grants"]) for row in by_window] == [
        ("SML", "Small grants", 1),
        ("~none", "No window", 4),
    ]
    only = client.get(URL + f"?group_by=window&window={window.pk}").json()["rows"]
    assert [(row["group"], row["grants"]) for row in only] == [("SML", 1)]


def test_the_csv_gives_the_same_figures(grants, client_for):
    response = client_for("fund_manager").get(URL + "?group_by=quarter&format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="seetf-cycle-times.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["group"] for row in rows] == ["2025-Q4", "2026-Q1", "TOTAL"]
    total = rows[-1]
    assert total["submit_to_decision_median_days"] == "11.5"
    assert total["submit_to_decision_p80_days"] == "16.2"
    assert total["returns"] == "0.40"
    assert total["submit_to_close_within_standard_percent"] == ""
    assert rows[1]["submit_to_decision_within_standard_percent"] == "66.7"


def test_the_xlsx_is_a_workbook(grants, client_for):
    from tests.results.test_report_downloads import xlsx_sheet

    response = client_for("fund_manager").get(URL + "?format=xlsx")
    assert response.status_code == 200
    sheet = xlsx_sheet(response.content)
    header = [cell.value for cell in sheet[1]]
    total = [cell.value for cell in sheet[sheet.max_row]]
    assert total[0] == "TOTAL"
    assert total[header.index("submit_to_decision_p80_days")] == 16.2
    assert total[header.index("grants")] == 5


def test_the_overdue_list_oldest_first(grants, fund_manager):
    from grants.selectors import grants_visible_to

    found = overdue_against_standards(grants_visible_to(fund_manager), today=date(2026, 11, 10))
    assert [
        (item["grant"], item["step"], str(item["since"]), item["days_over"]) for item in found
    ] == [
        (grants["B"].pk, "submit_to_decision", "2026-03-10", 245 - 20),
        (grants["D"].pk, "decision_to_first_disbursement", "2026-03-30", 225 - 30),
        (grants["D"].pk, "decision_to_first_exchange", "2026-03-30", 225 - 120),
        (grants["D"].pk, "end_to_report", "2026-06-30", 133 - 60),
    ]
    # Before D's standards ran out, only B was overdue.
    early = overdue_against_standards(grants_visible_to(fund_manager), today=date(2026, 4, 20))
    assert [(item["grant"], item["step"]) for item in early] == [
        (grants["B"].pk, "submit_to_decision")
    ]


@pytest.mark.parametrize("today", [date(2026, 4, 20), date(2026, 11, 10), date(2027, 6, 1)])
def test_the_overdue_list_limited_is_its_first_items(grants, fund_manager, today):
    """The home page's short list: the database picks the grants whose items come first
    (``limit``); what it gives is the full list's first items, whatever the limit."""
    from grants.selectors import grants_visible_to

    full = overdue_against_standards(grants_visible_to(fund_manager), today=today)
    assert full
    for limit in range(len(full) + 2):
        limited = overdue_against_standards(
            grants_visible_to(fund_manager), today=today, limit=limit
        )
        assert limited == full[:limit]
        # Compiled once for the fund managers (seetf.common.prepared), then run again.
        for _again in range(2):
            compiled = overdue_against_standards(
                grants_visible_to(fund_manager), today=today, limit=limit, shared="roles:test"
            )
            assert compiled == full[:limit]


def test_a_leader_sees_the_cycle_times_of_the_grants_they_may_see(grants, client_for):
    """A leader reads their own grants at any status: all five here; a donor only the
    approved and later (A closed, C cancelled, D approved, E completed)."""
    assert client_for("task_team_leader").get(URL).json()["totals"]["grants"] == 5
    assert client_for("donor").get(URL).json()["totals"]["grants"] == 4


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert str(percentile([7], 0.8)) == "7.0"
    assert str(percentile([2, 10, 13, 21], 0.5)) == "11.5"
    from fractions import Fraction

    assert str(percentile([2, 10, 13, 21], Fraction(4, 5))) == "16.2"
    assert str(percentile([1, 2], Fraction(1, 3))) == "1.3"


def test_bad_parameters_are_400(client_for):
    client = client_for("fund_manager")
    response = client.get(URL + "?group_by=colour")
    assert response.status_code == 400
    assert "group_by" in response.json()
    response = client.get(URL + "?status=nonsense")
    assert response.status_code == 400 and "status" in response.json()
