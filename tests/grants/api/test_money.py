"""Approvals commit money, cancelling and closing release it: the fund summary
(`GET /api/v1/fund/`) is exact after every step and agrees with the ledger recomputed
from receipts and grants."""

from decimal import Decimal

import pytest

from grants.models import GrantStatus
from grants.selectors import fund_ledger_from_records
from results import services as results_services
from tests.factories import fund_with
from tests.grants.conftest import grant_state
from tests.grants.factories import REPORT, make_grant

S = GrantStatus
D = Decimal
pytestmark = pytest.mark.django_db


def fund_is(client, *, received, committed, disbursed, pipeline):
    """The summary shows exactly these amounts, and the ledger agrees with the records."""
    summary = client.get("/api/v1/fund/")
    assert summary.status_code == 200
    body = summary.json()
    assert {k: D(body[k]) for k in ("received_usd", "committed_usd", "disbursed_usd")} == {
        "received_usd": D(received),
        "committed_usd": D(committed),
        "disbursed_usd": D(disbursed),
    }
    assert body["allocated_usd"] == "0.00"
    assert D(body["available_usd"]) == D(received) - D(committed)
    assert D(body["available_usd"]) >= 0
    assert D(body["pipeline_usd"]) == D(pipeline)
    # Money is a string with two places, never a float.
    for key in ("received_usd", "committed_usd", "disbursed_usd", "available_usd", "pipeline_usd"):
        assert isinstance(body[key], str) and len(body[key].split(".")[1]) == 2
    assert fund_ledger_from_records() == {
        "received_usd": D(received),
        "committed_usd": D(committed),
        "disbursed_usd": D(disbursed),
        "allocated_usd": D("0.00"),
    }


def approve(client, grant, amount):
    return client.post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": amount}, format="json"
    )


def test_money_through_approval_disbursement_cancel_and_close(leader, fund_manager, client_for):
    fm, ttl = client_for(fund_manager), client_for(leader)
    fund_with("500000.00")
    fund_is(fm, received="500000", committed="0", disbursed="0", pipeline="0")

    a = make_grant(leader, S.SUBMITTED, requested_usd=D("200000.00"))
    fund_is(fm, received="500000", committed="0", disbursed="0", pipeline="200000")

    # Below the request: fine; the grant leaves the pipeline and commits what was approved.
    response = approve(fm, a, "150000.00")
    assert response.status_code == 200, response.json()
    assert response.json()["approved_usd"] == "150000.00"
    assert response.json()["requested_usd"] == "200000.00"
    fund_is(fm, received="500000", committed="150000", disbursed="0", pipeline="0")

    # Above the request: 400 on approved_usd, nothing written.
    b = make_grant(leader, S.UNDER_REVIEW, manager=fund_manager, requested_usd=D("100000.00"))
    before = grant_state(b.pk)
    response = approve(fm, b, "100000.01")
    assert response.status_code == 400
    assert "approved_usd" in response.json()
    assert grant_state(b.pk) == before
    fund_is(fm, received="500000", committed="150000", disbursed="0", pipeline="100000")

    # Above what is available (350,000): 409 insufficient_funds, nothing written.
    c = make_grant(leader, S.SUBMITTED, requested_usd=D("400000.00"))
    before = grant_state(c.pk)
    response = approve(fm, c, "350000.01")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_funds"
    assert grant_state(c.pk) == before
    fund_is(fm, received="500000", committed="150000", disbursed="0", pipeline="500000")

    # Exactly what is available: fine, and available is then zero.
    response = approve(fm, c, "350000.00")
    assert response.status_code == 200, response.json()
    fund_is(fm, received="500000", committed="500000", disbursed="0", pipeline="100000")
    response = approve(fm, b, "0.01")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_funds"

    # Disburse 50,000 of A, then cancel A: the undisbursed 100,000 goes back.
    response = fm.post(
        f"/api/v1/grants/{a.pk}/disbursements/",
        {"amount_usd": "50000.00", "disbursed_on": "2026-02-01"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    fund_is(fm, received="500000", committed="500000", disbursed="50000", pipeline="100000")
    response = fm.post(f"/api/v1/grants/{a.pk}/cancel/", {"comment": "Stopped."})
    assert response.status_code == 200
    assert response.json()["status"] == S.CANCELLED
    assert response.json()["disbursed_usd"] == "50000.00"
    fund_is(fm, received="500000", committed="400000", disbursed="50000", pipeline="100000")

    # B now fits.
    response = approve(fm, b, "100000.00")
    assert response.status_code == 200
    fund_is(fm, received="500000", committed="500000", disbursed="50000", pipeline="0")

    # Close C after disbursing 120,000 of its 350,000: 230,000 goes back.
    response = fm.post(
        f"/api/v1/grants/{c.pk}/disbursements/",
        {"amount_usd": "120000.00", "disbursed_on": "2026-03-01"},
        format="json",
    )
    assert response.status_code == 201
    assert (
        ttl.put(f"/api/v1/grants/{c.pk}/completion-report/", REPORT, format="json").status_code
        == 200
    )
    assert ttl.post(f"/api/v1/grants/{c.pk}/completion-report/submit/").status_code == 200
    fund_is(fm, received="500000", committed="500000", disbursed="170000", pipeline="0")
    assert fm.post(f"/api/v1/grants/{c.pk}/completion-report/accept/").status_code == 200
    response = fm.post(f"/api/v1/grants/{c.pk}/close/")
    assert response.status_code == 200
    assert response.json()["status"] == S.CLOSED
    fund_is(fm, received="500000", committed="270000", disbursed="170000", pipeline="0")


def test_closing_a_fully_disbursed_grant_releases_nothing(leader, fund_manager, client_for):
    fm = client_for(fund_manager)
    fund_with("100000.00")
    grant = make_grant(leader, S.APPROVED, manager=fund_manager, approved_usd=D("80000.00"))
    response = fm.post(
        f"/api/v1/grants/{grant.pk}/disbursements/",
        {"amount_usd": "80000.00", "disbursed_on": "2026-02-01"},
        format="json",
    )
    assert response.status_code == 201
    results_services.completion_report_save(grant=grant, user=leader, **REPORT)
    results_services.completion_report_submit(grant=grant, user=leader)
    results_services.completion_report_accept(grant=grant, user=fund_manager)
    assert fm.post(f"/api/v1/grants/{grant.pk}/close/").status_code == 200
    grant.refresh_from_db()
    assert grant.released_usd == 0
    fund_is(fm, received="100000", committed="80000", disbursed="80000", pipeline="0")


def test_pipeline_counts_requests_submitted_or_under_review_only(
    leader, leader2, fund_manager, client_for
):
    fund_with("1000000.00")
    amounts = {
        S.DRAFT: "1000.00",
        S.SUBMITTED: "20000.00",
        S.UNDER_REVIEW: "300000.00",
        S.RETURNED: "4000.00",
        S.REJECTED: "50000.00",
        S.APPROVED: "60000.00",
        S.COMPLETED: "70000.00",
        S.CLOSED: "80000.00",
        S.CANCELLED: "90000.00",
    }
    for status, amount in amounts.items():
        make_grant(leader, status, manager=fund_manager, requested_usd=D(amount))
    make_grant(leader2, S.SUBMITTED, requested_usd=D("0.01"))
    summary = client_for(leader2).get("/api/v1/fund/").json()
    assert summary["pipeline_usd"] == "320000.01"
    # approved 60,000 + completed 70,000 hold their money; closed and cancelled do not.
    assert summary["committed_usd"] == "130000.00"


@pytest.mark.parametrize("role", ["fund_manager", "leader", "donor"])
def test_every_role_reads_the_fund_summary(role, client_for, anon):
    fund_with("1234.56")
    body = client_for(role).get("/api/v1/fund/").json()
    assert body["received_usd"] == "1234.56"
    assert body["available_usd"] == "1234.56"
    assert anon.get("/api/v1/fund/").status_code == 401


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ("0", "approved_usd"),
        ("-5.00", "approved_usd"),
        ("1.001", "approved_usd"),
        ("ten", "approved_usd"),
        (None, "approved_usd"),
    ],
)
def test_a_malformed_approval_is_a_400_and_writes_nothing(
    amount, field, leader, fund_manager, client_for
):
    fund_with("500000.00")
    grant = make_grant(leader, S.SUBMITTED)
    before = grant_state(grant.pk)
    body = {} if amount is None else {"approved_usd": amount}
    response = client_for(fund_manager).post(
        f"/api/v1/grants/{grant.pk}/approve/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert grant_state(grant.pk) == before
