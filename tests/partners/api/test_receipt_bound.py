"""A receipt cannot invent money (issue 14, finding 1): the USD credited for a
foreign-currency contribution stays within the pledge's USD value."""

from decimal import Decimal

import pytest

from partners.models import Contribution, Fund, Receipt
from tests.factories import make_contribution, make_receipt

pytestmark = pytest.mark.django_db


@pytest.fixture
def dkk_pledge():
    """1,000 DKK pledged, worth 150 USD."""
    return make_contribution(currency="DKK", pledged_amount="1000.00", pledged_usd="150.00")


def fund_figures():
    fund = Fund.objects.get(pk=1)
    return fund.received_usd, fund.committed_usd, fund.disbursed_usd


def test_10_dkk_cannot_be_credited_as_a_million_usd(dkk_pledge, client_for):
    before = fund_figures()

    response = client_for("fund_manager").post(
        f"/api/v1/contributions/{dkk_pledge.pk}/receipts/",
        {"amount": "10.00", "usd_amount": "1000000.00", "received_on": "2011-06-01"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert response.json() == {
        "usd_amount": [
            "The pledge is worth 150.00 USD and 150.00 USD of it is left to credit; "
            "amend the pledge first."
        ]
    }
    assert not Receipt.objects.exists()
    assert fund_figures() == before
    pledge = Contribution.objects.get(pk=dkk_pledge.pk)
    assert (pledge.received_amount, pledge.received_usd) == (Decimal("0.00"), Decimal("0.00"))


def test_the_usd_left_is_what_earlier_receipts_did_not_credit(dkk_pledge, client_for):
    make_receipt(dkk_pledge, "500.00", usd_amount="100.00")
    url = f"/api/v1/contributions/{dkk_pledge.pk}/receipts/"
    client = client_for("fund_manager")

    over = client.post(
        url, {"amount": "500.00", "usd_amount": "50.01", "received_on": "2011-06-01"}, format="json"
    )
    exact = client.post(
        url, {"amount": "500.00", "usd_amount": "50.00", "received_on": "2011-06-01"}, format="json"
    )

    assert over.status_code == 400
    assert "50.00 USD of it is left" in over.json()["usd_amount"][0]
    assert exact.status_code == 201, exact.content
    pledge = Contribution.objects.get(pk=dkk_pledge.pk)
    assert (pledge.received_usd, pledge.status) == (Decimal("150.00"), "received")
    assert Fund.objects.get(pk=1).received_usd == Decimal("150.00")
