"""The workbook's funding windows, offers and requests: imported through the services at
the rows' dates, and each bad row reported (sheet, row, column) with nothing written."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from brokering.models import BrokeringCounter, ExchangeRequest, Match, Offer, RequestStatus
from grants.models import Grant
from partners.models import Fund, Window, WindowMovement, WindowStatus
from partners.roles import Role, user_roles
from portability.importer import import_portfolio
from portability.records import portfolio_rows

from .test_import import nothing_written, problems_of, save, template, workbook

pytestmark = pytest.mark.django_db


def test_the_template_brings_its_window_offer_and_request(tmp_path, fund_manager):
    rows = template()
    # The example grant in the example window, which has the money by its approval.
    rows["grants"][0]["window"] = "AFR-1"
    rows["window_movements"][0].update(moved_on="2020-02-01", amount_usd=Decimal("100000.00"))
    result = import_portfolio(save(tmp_path, workbook(rows)), user=fund_manager)
    assert result.problems == []
    assert result.created["windows"] == 1 and result.created["window_movements"] == 1
    assert result.created["offers"] == 1 and result.created["requests"] == 1

    window = Window.objects.get(code="AFR-1")
    # The window closed for proposals on 2021-12-31: judged at the grant's dates (its
    # submission on 2020-02-12), not today's, the import takes the grant into it.
    assert window.closes_on < timezone.localdate()
    grant = Grant.objects.get(reference="SEETF-2020-0001")
    assert grant.window == window
    # 95,000 committed at the approval, 5,000 given back to the window at the closing.
    assert window.allocated_usd == Decimal("100000.00")
    assert window.committed_usd == Decimal("90000.00")
    assert window.disbursed_usd == Decimal("90000.00")
    movement = WindowMovement.objects.get(window=window, kind="allocation")
    assert timezone.localtime(movement.created_at).date().isoformat() == "2020-02-01"
    assert movement.recorded_by == fund_manager
    approver = window.approver_limits.get()
    assert approver.user.username == "example_window_manager"
    assert approver.limit_usd == Decimal("100000.00")
    assert Role.WINDOW_MANAGER in user_roles(approver.user)
    fund = Fund.objects.get(pk=1)
    assert fund.allocated_usd == window.available_usd == Decimal("10000.00")

    offer = Offer.objects.get(reference="OFR-2020-0001")
    assert offer.status == "published" and offer.created_by.username == "example_leader"
    request = ExchangeRequest.objects.get(reference="REQ-2020-0001")
    # Needed by 2020-06-30: a request of the past, accepted from the file.
    assert request.needed_by.isoformat() == "2020-06-30"
    assert request.status == RequestStatus.MATCHED
    match = Match.objects.get(request=request)
    assert match.offer == offer and match.grant == grant and match.matched_by == fund_manager
    # The references' counters are raised past the file's.
    assert BrokeringCounter.objects.get(prefix="OFR", year=2020).last_number == 1
    assert BrokeringCounter.objects.get(prefix="REQ", year=2020).last_number == 1

    # The export gives the file's rows back, and a re-import changes nothing.
    exported = portfolio_rows()
    assert exported["windows"][0]["approvers"] == "example_window_manager: 100000.00"
    assert exported["grants"][0]["window"] == "AFR-1"
    assert exported["requests"][0]["grant"] == "SEETF-2020-0001"
    again = import_portfolio(save(tmp_path, workbook(rows)), user=fund_manager)
    assert again.problems == [] and sum(again.created.values()) == 0
    assert again.skipped["windows"] == 1 and again.skipped["offers"] == 1
    assert WindowMovement.objects.count() == 1


def nothing_new():
    return (
        nothing_written()
        and not Window.objects.exists()
        and not Offer.objects.exists()
        and not ExchangeRequest.objects.exists()
    )


def test_bad_rows_of_each_new_sheet_are_reported_at_once(tmp_path, fund_manager, leader):
    rows = template()
    rows["grants"][0]["window"] = "NOPE"
    rows["windows"][0]["approvers"] = f"{leader.username}: 50000.00"
    rows["window_movements"].append(dict(rows["window_movements"][0], window="GONE"))
    rows["offers"][0]["provider_country"] = "XXX"
    rows["requests"][0]["recipient_country"] = "BRA"  # the offer's provider
    rows["offers"].append(
        dict(rows["offers"][0], reference="OFR-2020-0002", provider_country="BRA")
    )
    rows["requests"][0]["offer"] = "OFR-2020-0002"
    rows["requests"].append(
        dict(rows["requests"][0], reference="REQ-2020-0002", status="open", offer="")
    )
    where, problems = problems_of(tmp_path, rows, fund_manager)
    text = {}
    for p in problems:
        text[(p.sheet, p.row, p.column)] = text.get((p.sheet, p.row, p.column), "") + p.message
    assert "Unknown window NOPE" in text[("grants", 2, "window")]
    assert "ttl is not a window manager" in text[("windows", 2, "approvers")]
    assert "Unknown window GONE" in text[("window_movements", 3, "window")]
    assert "Unknown country code XXX" in text[("offers", 2, "provider_country")]
    assert "the recipient country itself" in text[("requests", 2, "offer")]
    # An open request names no match.
    assert "has no match" in text[("requests", 3, "grant")]
    assert nothing_new()


def test_a_window_grant_is_judged_at_its_dates(tmp_path, fund_manager):
    rows = template()
    rows["grants"][0]["window"] = "AFR-1"
    rows["windows"][0].update(opens_on="2020-03-01", created_on="2020-01-01")
    where, problems = problems_of(tmp_path, rows, fund_manager)
    # Submitted on 2020-02-12, before the window took proposals; approved on 2020-03-01
    # beyond the window's money then (its allocation came on 2020-12-20).
    assert ("grants", 2, "window") in where
    assert "opens on 2020-03-01" in str(problems[where.index(("grants", 2, "window"))])
    assert ("grants", 2, "approved_usd") in where
    assert "the window AFR-1 had 0.00 USD available" in " ".join(str(p) for p in problems)
    assert nothing_new()

    # Approved after the window was closed.
    rows = template()
    rows["grants"][0]["window"] = "AFR-1"
    rows["window_movements"][0].update(moved_on="2020-02-01", amount_usd=Decimal("100000.00"))
    rows["windows"][0].update(status=WindowStatus.CLOSED, closed_on="2020-02-20")
    where, problems = problems_of(tmp_path, rows, fund_manager)
    assert ("grants", 2, "window") in where
    assert "was closed before 2020-03-01" in " ".join(str(p) for p in problems)
    assert nothing_new()


def test_an_allocation_beyond_the_fund_s_money_then(tmp_path, fund_manager):
    rows = template()
    rows["window_movements"][0].update(moved_on="2020-01-15")  # before the receipt
    where, problems = problems_of(tmp_path, rows, fund_manager)
    assert where == [("window_movements", 2, "amount_usd")]
    assert "On 2020-01-15 the fund had 0.00 USD available" in problems[0].message


def test_a_past_needed_by_is_for_history_only(client_for):
    # The API still refuses a past needed_by for a new request (tests/brokering/test_api
    # covers the 400); a new request gets its reference from the services.
    client = client_for("leader")
    body = {
        "title": "Land titling for Mozambique",
        "description": "Mozambique wants to learn how to register land parcels.",
        "recipient_country": "MOZ",
        "sectors": ["31120"],
        "instruments": ["study_tour"],
        "languages": ["pt"],
        "needed_by": str(timezone.localdate() - timedelta(days=1)),
    }
    response = client.post("/api/v1/requests/", body, format="json")
    assert response.status_code == 400 and "needed_by" in response.json()
    assert not ExchangeRequest.objects.exists()
    body["needed_by"] = str(timezone.localdate() + timedelta(days=30))
    response = client.post("/api/v1/requests/", body, format="json")
    assert response.status_code == 201
    year = timezone.localdate().year
    assert response.json()["reference"] == f"REQ-{year}-0001"
    second = client.post("/api/v1/requests/", body, format="json").json()
    assert second["reference"] == f"REQ-{year}-0002"
    assert (
        client.get(f"/api/v1/requests/{second['id']}/").json()["reference"] == second["reference"]
    )
