from decimal import Decimal

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_annex_c_totals_through_the_api(client_for, donor):
    call_command("load_review_2011", stdout=open("/dev/null", "w"))
    call_command("load_review_2011", stdout=open("/dev/null", "w"))  # idempotent

    response = client_for(donor).get("/api/v1/reports/contributions/")

    assert response.status_code == 200
    body = response.json()
    assert body["totals"] == {
        "pledged_usd": "10316087.00",
        "received_usd": "9516087.00",
        "outstanding_usd": "800000.00",
    }
    russia = next(row for row in body["rows"] if row["code"] == "RUS")
    assert russia["outstanding_usd"] == "800000.00"
    assert (
        len([row for row in body["rows"] if row["code"] != donor.partner_membership.partner.code])
        == 9
    )

    fund = client_for(donor).get("/api/v1/fund/").json()
    assert Decimal(fund["received_usd"]) == Decimal("9516087.00")
    # The 21 closed grants of Annex D, 100,000.00 each, fully disbursed, hold the rest.
    assert Decimal(fund["committed_usd"]) == Decimal("2100000.00")
    assert Decimal(fund["available_usd"]) == Decimal("7416087.00")
    assert fund["pledged_usd"] == "10316087.00"
