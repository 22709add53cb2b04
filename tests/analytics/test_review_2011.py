"""The analytics reports over the 2011 review's data (load_review_2011): the figures the
data can support match the review's."""

import csv
import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

# Box 2 and Box 3 of the review: the six exchanges, who shared with whom.
BOX_FLOWS = {
    ("MDA", "KGZ"),
    ("MDA", "TJK"),
    *{
        (p, r)
        for p in ("PAK", "IND", "LKA", "THA", "VNM", "BRA")
        for r in ("AFG", "NPL", "BGD", "BTN")
    },
    ("IND", "TZA"),
    ("IND", "UGA"),
    ("BRA", "HTI"),
    ("SGP", "HTI"),
    ("MAR", "SEN"),
    ("TUN", "SEN"),
    *{(p, r) for p in ("MEX", "JAM", "DOM") for r in ("BLZ", "HND")},
}
PROVIDERS = {
    "MDA",
    "PAK",
    "IND",
    "LKA",
    "THA",
    "VNM",
    "BRA",
    "SGP",
    "MAR",
    "TUN",
    "MEX",
    "JAM",
    "DOM",
}
RECIPIENTS = {"KGZ", "TJK", "AFG", "NPL", "BGD", "BTN", "TZA", "UGA", "HTI", "SEN", "BLZ", "HND"}


@pytest.fixture
def review(db):
    call_command("load_review_2011", stdout=open("/dev/null", "w"))


def _indicators(body):
    return {row["indicator"]: row for row in body["rows"]}


def test_the_indicators_give_the_review_figures_the_data_supports(review, client_for):
    body = client_for("donor").get("/api/v1/reports/portfolio-indicators/").json()
    rows = _indicators(body)
    # The 21 completed projects of Annex D, each closed, each of the review's average.
    assert rows["grants_approved"]["value"] == "21"
    assert rows["grants_completed"]["value"] == "21"
    assert rows["average_grant_usd"]["value"] == "100000.00"
    # The six box exchanges and their countries.
    assert rows["exchanges_held"]["value"] == "6"
    assert set(body["countries"]["providers"]) == PROVIDERS
    assert set(body["countries"]["recipients"]) == RECIPIENTS
    assert rows["provider_countries"]["value"] == "13"
    assert rows["recipient_countries"]["value"] == "12"
    assert rows["countries_involved"]["value"] == "25"
    assert rows["countries_both_roles"]["value"] == "0"
    # Four of the six box exchanges were study tours; the other 15 projects record none.
    assert (rows["study_tour_share"]["numerator"], rows["study_tour_share"]["denominator"]) == (
        4,
        21,
    )
    assert rows["study_tour_share"]["value"] == "19.0"
    # The six box projects report their concrete results (the review: 15 of 21 did).
    assert rows["grants_with_concrete_results"]["value"] == "6"
    assert rows["women_participant_share"]["value"] is None  # no participants recorded


def test_the_exchange_flows_are_the_boxes_exchanges(review, client_for):
    body = client_for("fund_manager").get("/api/v1/reports/exchange-flows/").json()
    assert {(row["provider"], row["recipient"]) for row in body["rows"]} == BOX_FLOWS
    assert all(row["exchanges"] == 1 and row["grants"] == 1 for row in body["rows"])
    assert body["totals"] == {
        "exchanges": 6,
        "grants": 6,
        "participants": 0,
        "women_participants": 0,
    }
    by_region = client_for("fund_manager").get("/api/v1/reports/exchange-flows/?by=region").json()
    pairs = {(row["provider"], row["recipient"]): row["exchanges"] for row in by_region["rows"]}
    # NRENs: South Asia, East Asia and Brazil to South Asia; Social protection within LCR.
    assert pairs[("SAR", "SAR")] == 1
    assert pairs[("EAP", "SAR")] == 1
    assert pairs[("LCR", "SAR")] == 1
    assert pairs[("LCR", "LCR")] == 2  # Garment production (Brazil) and social protection
    assert pairs[("ECA", "ECA")] == 1
    assert pairs[("MNA", "AFR")] == 1
    assert pairs[("SAR", "AFR")] == 1


def test_the_flows_as_csv(review, client_for):
    response = client_for("donor").get("/api/v1/reports/exchange-flows/?format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="seetf-exchange-flows.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "provider",
        "provider_name",
        "recipient",
        "recipient_name",
        "exchanges",
        "grants",
        "participants",
        "women_participants",
    ]
    assert len(rows) == 2 + len(BOX_FLOWS)
    assert rows[-1][0] == "TOTAL" and rows[-1][4:] == ["6", "6", "0", "0"]


def test_the_cycle_times_of_the_review(review, client_for):
    body = client_for("fund_manager").get("/api/v1/reports/cycle-times/?group_by=region").json()
    totals = body["totals"]
    # Submitted 2009-05-04, approved 2009-06-01, disbursed 2009-06-15, report submitted
    # 2010-08-16 (planned end 2010-06-30), accepted 2010-09-01, closed 2010-09-15.
    assert totals["grants"] == 21
    assert totals["submit_to_decision_median_days"] == 28.0
    assert totals["decision_to_first_disbursement_median_days"] == 14.0
    assert totals["decision_to_first_exchange_count"] == 6
    assert totals["report_to_acceptance_median_days"] == 16.0
    assert totals["submit_to_close_median_days"] == 499.0
    assert totals["returns"] == 0.0
    assert {row["group"] for row in body["rows"]} == {"AFR", "ECA", "LCR", "SAR", "OTH"}
