"""load_review_2011's results: the Annex D report and the six published stories."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

ANNEX_D_TOTALS = {
    "grants": 21,
    "raised_awareness": 15,
    "enhanced_knowledge_and_skills": 16,
    "improved_consensus_and_teamwork": 5,
    "strengthened_coalitions": 0,
    "enhanced_networks": 8,
    "increased_implementation_knowhow": 18,
}


@pytest.fixture
def review(db):
    call_command("load_review_2011", stdout=open("/dev/null", "w"))
    call_command("load_review_2011", stdout=open("/dev/null", "w"))  # idempotent


def test_capacity_outcomes_report_gives_the_annex_d_totals(review, client_for, donor):
    response = client_for(donor).get("/api/v1/reports/capacity-outcomes/")

    assert response.status_code == 200
    body = response.json()
    assert body["totals"] == ANNEX_D_TOTALS
    assert len(body["rows"]) == 21
    hospital = next(r for r in body["rows"] if r["title"] == "Hospital Policy and Management")
    assert hospital["raised_awareness"] and hospital["improved_consensus_and_teamwork"]
    assert not hospital["enhanced_networks"]


def test_capacity_outcomes_report_as_csv(review, client_for, fund_manager):
    response = client_for(fund_manager).get("/api/v1/reports/capacity-outcomes/?format=csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert len(lines) == 1 + 21 + 1
    assert lines[-1].startswith("TOTAL")
    assert lines[-1].split(",")[3:9] == ["15", "16", "5", "0", "8", "18"]


def test_follow_up_pipeline_lists_the_reviews_follow_up_needs(review, client_for, fund_manager):
    body = client_for(fund_manager).get("/api/v1/reports/follow-up/").json()

    titles = sorted(row["title"] for row in body["rows"])
    assert titles == ["Garment Production", "Hospital Policy and Management", "Social Protection"]
    assert body["totals"]["grants"] == 3
    assert all(row["follow_up_description"] for row in body["rows"])


def test_six_published_stories_are_public(review, anon):
    response = anon.get("/api/v1/results-stories/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    assert all(story["published"] for story in body["results"])
    found = anon.get("/api/v1/results-stories/", {"search": "Haiti garment jobs"}).json()
    assert found["count"] >= 1
    assert "7,000" in found["results"][0]["body"]


def test_fund_stays_consistent_with_annex_c(review, client_for, fund_manager):
    from grants.selectors import fund_ledger_from_records

    fund = client_for(fund_manager).get("/api/v1/fund/").json()
    ledger = fund_ledger_from_records()

    assert fund["received_usd"] == "9516087.00" == f"{ledger['received_usd']}"
    assert fund["committed_usd"] == f"{ledger['committed_usd']}" == "2100000.00"
    assert fund["available_usd"] == "7416087.00"


def test_the_six_box_exchanges_load_with_their_lessons_self_reported(review, anon):
    """Loaded twice (the fixture): six lessons, one per box exchange, self-reported,
    reviewed, public; Box 3's three say what did not work and why."""
    from audit.models import AuditEntry
    from results.models import Lesson

    body = anon.get("/api/v1/lessons/", {"page_size": 50}).json()
    assert body["count"] == 6 == Lesson.objects.count()
    rows = {row["title"]: row for row in body["results"]}
    assert {row["evidence_level"] for row in rows.values()} == {"self_reported"}
    assert {row["review_status"] for row in rows.values()} == {"approved"}
    hospital = rows["Hospital Policy and Management"]
    assert "agency" in hospital["what_did_not"] and "follow-on" in hospital["why"]
    assert hospital["outcomes"] == ["improved_consensus_and_teamwork", "raised_awareness"]
    assert rows["Garment Production"]["what_did_not"].startswith("The benefits are not yet")
    assert rows["Afforestation and Carbon Trading"]["what_did_not"] == ""
    assert AuditEntry.objects.filter(action="lesson.approve").count() == 6
    found = anon.get("/api/v1/lessons/", {"search": "special economic zones"}).json()
    assert [row["title"] for row in found["results"]] == ["Garment Production"]
