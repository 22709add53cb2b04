"""The fund's money after pledges and receipts in several currencies, recorded through
the API: the fund summary, each contribution's derived fields, and the contributions
report (JSON and CSV), all exact to the cent."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum

from partners import services
from partners.models import Country, PartnerKind, Receipt
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

NDP = PartnerKind.NEW_DEVELOPMENT_PARTNER
DONOR = PartnerKind.TRADITIONAL_DONOR

# reference: (partner code, currency, pledged, pledged USD, [(amount, USD credited), ...])
PLEDGES = {
    "DNK-1": ("DNK", "DKK", "3000000.00", "540000.00", [("1000000.00", "181234.56")]),
    "ESP-1": (
        "ESP",
        "EUR",
        "750000.00",
        # The rate moved after signing: the pledge was amended to the USD received (the
        # USD credited never passes the pledge's USD value).
        "1021250.00",
        [("500000.00", "690000.00"), ("250000.00", "331250.00")],
    ),
    "GBR-1": ("GBR", "GBP", "200000.00", "321987.65", []),
    "CHN-1": ("CHN", "USD", "300000.00", None, [("100000.00", None), ("200000.00", None)]),
    "CHN-2": ("CHN", "CHF", "100000.00", "104166.67", [("33333.33", "34722.22")]),
    "RUS-1": ("RUS", "USD", "1500000.00", None, [("700000.00", None)]),
}

# What each contribution shows: received_usd, outstanding_usd, status.
EXPECTED_CONTRIBUTIONS = {
    "DNK-1": ("181234.56", "360000.00", "partially_received"),  # 540000 x 2/3 still to come
    "ESP-1": ("1021250.00", "0.00", "received"),  # the amended pledge, all received
    "GBR-1": ("0.00", "321987.65", "pledged"),
    "CHN-1": ("300000.00", "0.00", "received"),
    "CHN-2": ("34722.22", "69444.45", "partially_received"),  # 104166.67 x 0.6666667
    "RUS-1": ("700000.00", "800000.00", "partially_received"),
}

# The report: one row per partner, by name.
EXPECTED_ROWS = [
    {
        "partner": "China",
        "code": "CHN",
        "kind": NDP,
        "pledged_usd": "404166.67",
        "received_usd": "334722.22",
        "outstanding_usd": "69444.45",
    },
    {
        "partner": "Denmark",
        "code": "DNK",
        "kind": DONOR,
        "pledged_usd": "540000.00",
        "received_usd": "181234.56",
        "outstanding_usd": "360000.00",
    },
    {
        "partner": "Russia",
        "code": "RUS",
        "kind": NDP,
        "pledged_usd": "1500000.00",
        "received_usd": "700000.00",
        "outstanding_usd": "800000.00",
    },
    {
        "partner": "Spain",
        "code": "ESP",
        "kind": DONOR,
        "pledged_usd": "1021250.00",
        "received_usd": "1021250.00",
        "outstanding_usd": "0.00",
    },
    {
        "partner": "United Kingdom",
        "code": "GBR",
        "kind": DONOR,
        "pledged_usd": "321987.65",
        "received_usd": "0.00",
        "outstanding_usd": "321987.65",
    },
]
EXPECTED_TOTALS = {
    "pledged_usd": "3787404.32",
    "received_usd": "2237206.78",
    "outstanding_usd": "1551432.10",
}

PARTNERS = {
    "CHN": ("China", NDP),
    "DNK": ("Denmark", DONOR),
    "ESP": ("Spain", DONOR),
    "GBR": ("United Kingdom", DONOR),
    "RUS": ("Russia", NDP),
}


@pytest.fixture
def portfolio(fund_manager, client_for):
    """Five partners; six pledges in five currencies and their receipts, all recorded
    through the API as a fund manager would."""
    client = client_for(fund_manager)
    partners = {
        code: PartnerFactory(code=code, name=name, kind=kind, country=Country.objects.get(pk=code))
        for code, (name, kind) in PARTNERS.items()
    }
    contributions = {}
    for reference, (code, currency, pledged, pledged_usd, receipts) in PLEDGES.items():
        body = {
            "partner": partners[code].pk,
            "reference": reference,
            "currency": currency,
            "pledged_amount": pledged,
        }
        if pledged_usd:
            body["pledged_usd"] = pledged_usd
        response = client.post("/api/v1/contributions/", body, format="json")
        assert response.status_code == 201, response.content
        contributions[reference] = response.json()["id"]
        for amount, usd_amount in receipts:
            body = {"amount": amount, "received_on": "2011-10-31"}
            if usd_amount:
                body["usd_amount"] = usd_amount
            response = client.post(
                f"/api/v1/contributions/{contributions[reference]}/receipts/", body, format="json"
            )
            assert response.status_code == 201, response.content
    return {"partners": partners, "contributions": contributions}


def test_the_expected_totals_add_up():
    """The hand-computed expectations below agree with each other."""
    for key, total in EXPECTED_TOTALS.items():
        assert sum(Decimal(row[key]) for row in EXPECTED_ROWS) == Decimal(total)
    pledged = sum(Decimal(usd or amount) for _, _, amount, usd, _ in PLEDGES.values())
    assert pledged == Decimal(EXPECTED_TOTALS["pledged_usd"])


def test_the_fund_summary(portfolio, client_for, donor):
    with transaction.atomic():
        services.fund_commit(amount_usd=Decimal("1000000.00"))
        services.fund_disburse(amount_usd=Decimal("250000.00"))

    body = client_for(donor).get("/api/v1/fund/").json()

    assert {key: body[key] for key in body if key != "as_of"} == {
        "pledged_usd": "3787404.32",
        "received_usd": "2237206.78",
        "committed_usd": "1000000.00",
        "disbursed_usd": "250000.00",
        "allocated_usd": "0.00",
        "available_usd": "1237206.78",
        "pipeline_usd": "0.00",
        "low_balance_threshold_usd": "250000.00",
    }
    assert datetime.fromisoformat(body["as_of"]).tzinfo is not None
    # The ledger agrees with the receipts it was built from.
    assert Receipt.objects.aggregate(total=Sum("usd_amount"))["total"] == Decimal("2237206.78")


def test_each_contribution_shows_what_came_in_and_what_is_to_come(portfolio, client_for, leader):
    body = client_for(leader).get("/api/v1/contributions/").json()

    assert body["count"] == 6
    shown = {
        row["reference"]: (row["received_usd"], row["outstanding_usd"], row["status"])
        for row in body["results"]
    }
    assert shown == EXPECTED_CONTRIBUTIONS
    dkk = next(row for row in body["results"] if row["reference"] == "DNK-1")
    assert dkk == {
        "id": portfolio["contributions"]["DNK-1"],
        "partner": portfolio["partners"]["DNK"].pk,
        "reference": "DNK-1",
        "currency": "DKK",
        "pledged_amount": "3000000.00",
        "pledged_usd": "540000.00",
        "received_usd": "181234.56",
        "outstanding_usd": "360000.00",
        "signed_on": None,
        "period_start": None,
        "period_end": None,
        "provider_activity_id": "",
        "status": "partially_received",
    }


@pytest.mark.parametrize(
    "query, references",
    [
        ("currency=eur", {"ESP-1"}),
        ("currency=USD", {"CHN-1", "RUS-1"}),
        ("partner={CHN}", {"CHN-1", "CHN-2"}),
        ("partner={CHN}&currency=CHF", {"CHN-2"}),
    ],
)
def test_filtering_contributions(query, references, portfolio, client_for, fund_manager):
    ids = {code: partner.pk for code, partner in portfolio["partners"].items()}

    body = client_for(fund_manager).get(f"/api/v1/contributions/?{query.format(**ids)}").json()

    assert {row["reference"] for row in body["results"]} == references


def test_receipts_of_a_contribution(portfolio, client_for, donor):
    url = f"/api/v1/contributions/{portfolio['contributions']['ESP-1']}/receipts/"

    body = client_for(donor).get(url).json()

    assert [(r["amount"], r["usd_amount"], r["received_on"]) for r in body["results"]] == [
        ("500000.00", "690000.00", "2011-10-31"),
        ("250000.00", "331250.00", "2011-10-31"),
    ]


def test_the_contributions_report(portfolio, client_for, fund_manager):
    body = client_for(fund_manager).get("/api/v1/reports/contributions/").json()

    assert body == {"rows": EXPECTED_ROWS, "totals": EXPECTED_TOTALS}


def test_a_partner_without_pledges_is_a_row_of_zeros(portfolio, client_for, fund_manager):
    PartnerFactory(code="ZZZ", name="Zambia fund", kind=PartnerKind.PRIVATE)

    body = client_for(fund_manager).get("/api/v1/reports/contributions/").json()

    assert body["rows"][-1] == {
        "partner": "Zambia fund",
        "code": "ZZZ",
        "kind": "private",
        "pledged_usd": "0.00",
        "received_usd": "0.00",
        "outstanding_usd": "0.00",
    }
    assert body["totals"] == EXPECTED_TOTALS


@pytest.mark.parametrize(
    "query, codes, totals",
    [
        ("kind=new_development_partner", ["CHN", "RUS"], ("1904166.67", "1034722.22", "869444.45")),
        ("partner={DNK}&partner={GBR}", ["DNK", "GBR"], ("861987.65", "181234.56", "681987.65")),
    ],
)
def test_filtering_the_report(query, codes, totals, portfolio, client_for, fund_manager):
    ids = {code: partner.pk for code, partner in portfolio["partners"].items()}

    body = (
        client_for(fund_manager).get(f"/api/v1/reports/contributions/?{query.format(**ids)}").json()
    )

    assert [row["code"] for row in body["rows"]] == codes
    assert body["totals"] == dict(
        zip(("pledged_usd", "received_usd", "outstanding_usd"), totals, strict=True)
    )


def test_the_report_as_csv(portfolio, client_for, donor):
    response = client_for(donor).get("/api/v1/reports/contributions/?format=csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, *rows, total = lines
    assert header == ["partner", "code", "kind", "pledged_usd", "received_usd", "outstanding_usd"]
    # The donor's own partner (no pledges) is a row of zeros among the others.
    assert [r for r in rows if r[1] == "DNKX"] == [
        ["Denmark (test)", "DNKX", "traditional_donor", "0.00", "0.00", "0.00"]
    ]
    assert [dict(zip(header, r, strict=True)) for r in rows if r[1] != "DNKX"] == EXPECTED_ROWS
    assert total == ["TOTAL", "", "", "3787404.32", "2237206.78", "1551432.10"]


def test_the_csv_report_filters_too(portfolio, client_for, fund_manager):
    response = client_for(fund_manager).get(
        "/api/v1/reports/contributions/?format=csv&kind=traditional_donor"
    )

    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [line[1] for line in lines[1:-1]] == ["DNK", "ESP", "GBR"]
    assert lines[-1] == ["TOTAL", "", "", "1883237.65", "1202484.56", "681987.65"]


def test_the_report_agrees_with_the_contribution_list(portfolio, client_for, fund_manager):
    client = client_for(fund_manager)
    contributions = client.get("/api/v1/contributions/").json()["results"]
    report = client.get("/api/v1/reports/contributions/").json()

    for key in ("pledged_usd", "received_usd", "outstanding_usd"):
        assert sum(Decimal(c[key]) for c in contributions) == Decimal(report["totals"][key])
