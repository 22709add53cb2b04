"""Partners and money in through the pages: fund managers record partners, pledges and
receipts; every role reads the contributions table (Annex C), also as CSV."""

from decimal import Decimal

import pytest

from partners.models import Contribution, Fund, Partner
from partners.selectors import contributions_report
from tests.factories import PartnerFactory, make_contribution, make_receipt
from tests.web.pages import field_errors, field_value, form_data, money, page

pytestmark = pytest.mark.django_db


def test_a_fund_manager_records_a_partner_a_pledge_and_a_receipt(web, fund_manager):
    client = web(fund_manager)

    data = form_data(
        page(client.get("/partners/new/")),
        "partner-form",
        code="NOR",
        name="Norway",
        kind="traditional_donor",
        country="NOR",
        joined_on="2010-05-01",
    )
    response = client.post("/partners/new/", data)
    assert response.status_code == 302
    partner = Partner.objects.get(code="NOR")
    assert response["Location"] == f"/partners/{partner.pk}/"

    # A pledge in Norwegian kroner, with its USD value.
    url = f"/contributions/new/?partner={partner.pk}"
    form = page(client.get(url))
    assert field_value(form, "partner") == str(partner.pk)
    data = form_data(
        form,
        "contribution-form",
        reference="NOR-2010-1",
        currency="nok",
        pledged_amount="6000000",
        pledged_usd="1000000.00",
        signed_on="2010-05-01",
    )
    response = client.post("/contributions/new/", data)
    assert response.status_code == 302
    contribution = Contribution.objects.get(reference="NOR-2010-1")
    assert contribution.currency == "NOK"
    assert contribution.pledged_usd == Decimal("1000000.00")

    # A receipt credits the fund.
    detail = page(client.get(response["Location"]))
    assert detail.testid("contribution-status").text == "Pledged"
    data = form_data(
        detail, "receipt-form", amount="3000000", usd_amount="480000.00", received_on="2011-01-05"
    )
    response = client.post(f"/contributions/{contribution.pk}/receipts/", data)
    assert response.status_code == 302
    assert Fund.objects.get().received_usd == Decimal("480000.00")
    detail = page(client.get(response["Location"]))
    assert "480,000.00 USD credited" in detail.testid("flash-success").text
    assert detail.testid("contribution-status").text == "Partially received"
    assert len(detail.find_all(data_testid="receipt-row")) == 1
    assert money(page(client.get("/")).testid("fund-received").text) == Decimal("480000.00")


def test_partner_errors_come_from_the_service_next_to_the_field(web, fund_manager):
    PartnerFactory(code="DNK1", name="Denmark")
    client = web(fund_manager)
    data = form_data(
        page(client.get("/partners/new/")),
        "partner-form",
        code="dnk 1",
        name="Denmark",
        kind="traditional_donor",
    )
    root = page(client.post("/partners/new/", data))
    assert field_errors(root, "id_code") == ["Use 2-16 capitals, digits, - or _."]
    assert field_errors(root, "id_name") == ["Partner with this Name already exists."]
    assert field_value(root, "code") == "dnk 1"


def test_a_usd_pledge_needs_no_usd_value_but_another_currency_does(web, fund_manager):
    partner = PartnerFactory()
    client = web(fund_manager)
    base = form_data(
        page(client.get("/contributions/new/")),
        "contribution-form",
        partner=str(partner.pk),
        reference="P-1",
        pledged_amount="1000",
    )
    root = page(client.post("/contributions/new/", {**base, "currency": "EUR"}))
    assert field_errors(root, "id_pledged_usd") == [
        "Give the USD value of a pledge in another currency."
    ]
    root = page(client.post("/contributions/new/", {**base, "currency": "XYZ"}))
    assert field_errors(root, "id_currency") == ["'XYZ' is not an ISO 4217 currency code."]
    response = client.post("/contributions/new/", {**base, "currency": "USD"})
    assert response.status_code == 302
    assert Contribution.objects.get(reference="P-1").pledged_usd == Decimal("1000.00")


def test_a_pledge_cannot_be_amended_below_what_was_received(web, fund_manager):
    contribution = make_contribution(pledged_amount="1000")
    make_receipt(contribution, "600")
    client = web(fund_manager)
    url = f"/contributions/{contribution.pk}/edit/"
    data = form_data(page(client.get(url)), "contribution-form", pledged_amount="500")
    root = page(client.post(url, data))
    assert field_errors(root, "id_pledged_amount") == [
        "600.00 USD was received already; the pledge cannot be smaller."
    ]
    contribution.refresh_from_db()
    assert contribution.pledged_amount == Decimal("1000.00")


def test_the_partner_list_is_the_contributions_table_with_its_csv(web, leader):
    first = make_contribution(PartnerFactory(name="Alpha"), pledged_amount="300")
    make_receipt(first, "100")
    make_contribution(PartnerFactory(name="Beta"), pledged_amount="50.50")
    report = contributions_report()
    client = web(leader)  # every role reads the table
    root = page(client.get("/partners/"))
    assert len(root.find_all(data_testid="partner-row")) == 2
    assert money(root.testid("total-pledged").text) == report["totals"]["pledged_usd"]
    assert money(root.testid("total-received").text) == report["totals"]["received_usd"]
    assert money(root.testid("total-outstanding").text) == report["totals"]["outstanding_usd"]
    assert root.find(data_testid="new-partner") is None  # leaders do not write
    csv_url = root.testid("csv-contributions-report").attrs["href"]
    response = client.get(csv_url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "partner,code,kind,pledged_usd,received_usd,outstanding_usd"
    assert lines[-1].startswith("TOTAL")


def test_contributions_are_filtered_by_partner(web, fund_manager):
    alpha, beta = PartnerFactory(name="Alpha"), PartnerFactory(name="Beta")
    make_contribution(alpha, reference="A-1")
    make_contribution(beta, reference="B-1")
    root = page(web(fund_manager).get(f"/contributions/?partner={alpha.pk}"))
    rows = root.find_all(data_testid="contribution-row")
    assert [r.find("a").text for r in rows] == ["A-1"]
