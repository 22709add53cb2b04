from decimal import Decimal

import pytest

from grants.models import GrantStatus
from tests.factories import fund_with

pytestmark = pytest.mark.django_db


def test_a_proposal_goes_from_draft_to_approved_and_commits_money(client_for, leader, fund_manager):
    fund_with("500000.00")
    ttl, fm = client_for(leader), client_for(fund_manager)
    created = ttl.post(
        "/api/v1/grants/",
        {
            "title": "Dairy sector reform",
            "summary": "Tanzania and Uganda learn from India.",
            "sector": "31163",
            "region": "AFR",
            "recipient_countries": ["TZA", "UGA"],
            "provider_countries": ["IND"],
            "requested_usd": "120000.00",
            "planned_start": "2026-02-01",
            "planned_end": "2026-08-31",
            "targeted_outcomes": ["enhanced_networks"],
        },
    )
    assert created.status_code == 201, created.json()
    grant_id = created.json()["id"]
    assert created.json()["status"] == GrantStatus.DRAFT
    assert fm.get(f"/api/v1/grants/{grant_id}/").status_code == 404

    submitted = ttl.post(f"/api/v1/grants/{grant_id}/submit/")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["reference"].startswith("SEETF-")
    assert fm.get("/api/v1/fund/").json()["pipeline_usd"] == "120000.00"

    approved = fm.post(f"/api/v1/grants/{grant_id}/approve/", {"approved_usd": "100000.00"})
    assert approved.status_code == 200, approved.json()
    fund = fm.get("/api/v1/fund/").json()
    assert Decimal(fund["available_usd"]) == Decimal("400000.00")
    assert fund["pipeline_usd"] == "0.00"
    history = ttl.get(f"/api/v1/grants/{grant_id}/history/").json()
    assert [h["action"] for h in history] == ["create", "submit", "approve"]


def test_every_status_can_be_reached_and_closing_releases_money(leader, fund_manager):
    from grants.models import Grant
    from partners.models import Fund
    from tests.grants.factories import PATHS, make_grant

    fund_with("2000000.00")
    for status in PATHS:
        grant = make_grant(leader, status, manager=fund_manager, approved_usd=Decimal("90000"))
        assert grant.status == status
    closed = Grant.objects.get(status=GrantStatus.CLOSED)
    assert closed.released_usd == Decimal("90000.00")
    fund = Fund.objects.get()
    # Approved, completed hold 90,000 each; cancelled and closed released theirs.
    assert fund.committed_usd == Decimal("180000.00")
