"""The "Reverse" forms of the contribution page (receipts) and the grant page
(disbursements): fund managers only, a reason required, through the same services as the
API; the tables mark reversed entries and their reversals."""

from datetime import date
from decimal import Decimal

import pytest

from grants.models import Disbursement, GrantStatus
from grants.services import disbursement_record
from partners.models import Contribution, Fund, Receipt
from tests.factories import make_contribution, make_receipt
from tests.grants.factories import make_grant
from tests.web.pages import form_data, page

pytestmark = pytest.mark.django_db


@pytest.fixture
def receipt():
    pledge = make_contribution(currency="DKK", pledged_amount="1000.00", pledged_usd="150.00")
    return make_receipt(pledge, "400.00", usd_amount="60.00")


@pytest.fixture
def disbursement(funded, leader, fund_manager):
    grant = make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("80000.00")
    )
    return disbursement_record(
        grant=grant,
        user=fund_manager,
        amount_usd=Decimal("30000.00"),
        disbursed_on=date(2026, 1, 5),
    )


def test_a_fund_manager_reverses_a_receipt(web, fund_manager, receipt):
    client = web(fund_manager)
    url = f"/contributions/{receipt.contribution_id}/"
    root = page(client.get(url))
    data = form_data(root, "receipt-reverse-form", reason="Keyed twice")
    action = root.testid("receipt-reverse-form").attrs["action"]

    response = client.post(action, data)

    assert response.status_code == 302
    reversal = Receipt.objects.get(reverses=receipt)
    assert (reversal.amount, reversal.usd_amount, reversal.reason, reversal.recorded_by) == (
        Decimal("-400.00"),
        Decimal("-60.00"),
        "Keyed twice",
        fund_manager,
    )
    assert Contribution.objects.get(pk=receipt.contribution_id).received_usd == Decimal("0.00")
    root = page(client.get(url))
    assert root.testid("receipt-reversed").text == "Reversed"
    assert "Keyed twice" in root.testid("receipt-reversal").parent.text
    assert root.find(data_testid="receipt-reverse-form") is None  # nothing left to reverse


def test_a_reason_is_required_and_the_page_says_so(web, fund_manager, receipt):
    client = web(fund_manager)
    root = page(client.get(f"/contributions/{receipt.contribution_id}/"))
    action = root.testid("receipt-reverse-form").attrs["action"]

    root = page(client.post(action, form_data(root, "receipt-reverse-form", reason="  ")))

    assert root.testid("receipt-reverse-form").find(data_testid="form-errors") is not None
    assert "This field is required." in root.testid("receipt-reverse-form").text
    assert not Receipt.objects.filter(reverses=receipt).exists()


def test_a_refused_reversal_says_why(web, fund_manager, leader, receipt):
    """The fund's 60 USD, 10 committed: taking the receipt back would uncover them."""
    make_grant(leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("10.00"))
    assert Fund.objects.get(pk=1).available_usd == Decimal("50.00")
    client = web(fund_manager)
    root = page(client.get(f"/contributions/{receipt.contribution_id}/"))
    action = root.testid("receipt-reverse-form").attrs["action"]

    root = page(client.post(action, form_data(root, "receipt-reverse-form", reason="typo")))

    assert "committed money would be uncovered" in root.testid("receipt-reverse-form").text
    assert not Receipt.objects.filter(reverses=receipt).exists()


def test_a_fund_manager_reverses_a_disbursement(web, fund_manager, disbursement):
    client = web(fund_manager)
    url = f"/grants/{disbursement.grant_id}/"
    root = page(client.get(url))
    action = root.testid("disbursement-reverse-form").attrs["action"]

    response = client.post(
        action, form_data(root, "disbursement-reverse-form", reason="Paid twice")
    )

    assert response.status_code == 302
    reversal = Disbursement.objects.get(reverses=disbursement)
    assert (reversal.amount_usd, reversal.reason) == (Decimal("-30000.00"), "Paid twice")
    root = page(client.get(url))
    assert root.testid("grant-disbursed").text == "0.00"
    assert root.testid("grant-undisbursed").text == "80,000.00"
    assert root.testid("disbursement-reversed").text == "Reversed"
    assert "Paid twice" in root.testid("disbursement-reversal").parent.text


@pytest.mark.parametrize("role", ["leader", "donor", "no_role"])
def test_others_get_no_form_and_cannot_post(role, web, receipt, disbursement):
    client = web(role)
    contribution_page = client.get(f"/contributions/{receipt.contribution_id}/")
    grant_page = client.get(f"/grants/{disbursement.grant_id}/")

    posts = [
        client.post(
            f"/contributions/{receipt.contribution_id}/receipts/{receipt.pk}/reverse/",
            {"reason": "x"},
        ),
        client.post(
            f"/grants/{disbursement.grant_id}/disbursements/{disbursement.pk}/reverse/",
            {"reason": "x"},
        ),
    ]

    for response in (contribution_page, grant_page):
        if response.status_code == 200:
            assert b"reverse-form" not in response.content
    assert [p.status_code for p in posts] == [403, 404 if role == "no_role" else 403]
    assert not Receipt.objects.filter(reverses__isnull=False).exists()
    assert not Disbursement.objects.filter(reverses__isnull=False).exists()
