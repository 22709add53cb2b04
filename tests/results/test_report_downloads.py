"""The reports and the dashboard's tables as downloads, CSV and XLSX: hostile text reaches
them neutralised (issue 14, formula injection), the workbooks keep their types, header,
frozen pane and TOTAL row (issue 12, Excel out), and each role gets what it gets as CSV."""

import csv
import datetime
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command

from partners.models import Sector
from results.models import CompletionReport
from seetf.common.spreadsheets import XLSX_MEDIA_TYPE
from tests.factories import PartnerFactory, fund_with, make_contribution, make_receipt
from tests.results.factories import finished_grant
from tests.web.pages import page

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd", "@SUM(A1)", "-2+3", "\tTabbed", "\rReturned"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
REPORTS = ["contributions", "capacity-outcomes", "follow-up"]
DASHBOARD_TABLES = ["contributions", "region", "sector", "status", "outcomes", "follow_up"]


def assert_no_formula(cells, where):
    for cell in cells:
        if isinstance(cell, str) and cell.startswith(DANGEROUS):
            assert NUMBER.fullmatch(cell), f"{where}: {cell!r}"


def csv_cells(content) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_sheet(content):
    return openpyxl.load_workbook(io.BytesIO(content)).active


@pytest.fixture
def hostile(donor_partner, leader, fund_manager):
    """Every text a report shows, made hostile where a user can write it: partner names,
    contribution references, grant titles, follow-up descriptions, a sector's name."""
    for name in HOSTILE:
        make_receipt(make_contribution(PartnerFactory(name=name)), "10.00")
    for index, reference in enumerate(HOSTILE):
        make_contribution(donor_partner, pledged_amount="100.00", reference=f"{reference}{index}")
    fund_with("5000000.00")
    Sector.objects.filter(code="14010").update(name="=cmd|' /C calc'!A0")
    grants = [
        finished_grant(leader, fund_manager, title=title, sector="14010") for title in HOSTILE
    ]
    CompletionReport.objects.filter(grant__in=grants).update(
        follow_up_needed=True, follow_up_description="@follow up"
    )
    return grants


@pytest.mark.parametrize("report", REPORTS)
def test_hostile_text_reaches_the_report_csvs_neutralised(hostile, client_for, report):
    response = client_for("fund_manager").get(f"/api/v1/reports/{report}/?format=csv")

    assert response.status_code == 200
    rows = csv_cells(response.content)
    for row in rows:
        assert_no_formula(row, report)
    cells = {cell for row in rows for cell in row}
    for text in HOSTILE:
        assert any(cell.startswith("'" + text) for cell in cells), (report, text)
    assert rows[-1][0] == "TOTAL"


@pytest.mark.parametrize("report", REPORTS)
def test_hostile_text_reaches_the_report_workbooks_neutralised(hostile, client_for, report):
    response = client_for("fund_manager").get(f"/api/v1/reports/{report}/?format=xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_MEDIA_TYPE
    assert response["Content-Disposition"] == f'attachment; filename="seetf-{report}.xlsx"'
    sheet = xlsx_sheet(response.content)
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert_no_formula([c.value for c in cells], report)
    assert all(c.data_type != "f" for c in cells)
    # XML reads a carriage return back as a newline (its end-of-line rule): still text.
    values = [str(c.value).replace("\n", "\r") for c in cells]
    for text in HOSTILE:
        assert any(value.startswith("'" + text) for value in values), (report, text)


def test_every_dashboard_download_is_neutralised(hostile, web, donor):
    client = web(donor)
    root = page(client.get("/dashboard/"))
    seen = set()
    for table in DASHBOARD_TABLES:
        csv_response = client.get(root.testid(f"csv-{table}").attrs["href"])
        xlsx_response = client.get(root.testid(f"xlsx-{table}").attrs["href"])
        assert csv_response.status_code == xlsx_response.status_code == 200, table
        assert xlsx_response["Content-Type"] == XLSX_MEDIA_TYPE
        assert xlsx_response["Content-Disposition"].endswith('.xlsx"')
        rows = csv_cells(csv_response.content)
        sheet = xlsx_sheet(xlsx_response.content)
        xlsx_rows = [[c.value for c in row] for row in sheet.iter_rows()]
        assert len(xlsx_rows) == len(rows), table
        for row in [*rows, *xlsx_rows]:
            assert_no_formula(row, table)
        seen |= {cell for row in rows for cell in row}
    # Each hostile text reached some table (references, titles), neutralised, and so did
    # the sector's name and the follow-up description.
    for text in HOSTILE:
        assert any(cell.startswith("'" + text) for cell in seen), text
    assert "'=cmd|' /C calc'!A0" in seen
    assert "'@follow up" in seen


def test_a_report_workbook_has_its_types_header_pane_and_totals(hostile, client_for):
    client = client_for("fund_manager")
    sheet = xlsx_sheet(client.get("/api/v1/reports/follow-up/?format=xlsx").content)
    body = client.get("/api/v1/reports/follow-up/").json()

    header = [c.value for c in sheet[1]]
    assert header == [*body["rows"][0], "grants"]  # the totals' count: a column of its own
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    first = dict(zip(header, sheet[2], strict=True))
    assert first["grant"].value == body["rows"][0]["grant"] and first["grant"].data_type == "n"
    assert first["approved_usd"].data_type == "n"
    assert first["approved_usd"].number_format == "#,##0.00"
    assert Decimal(str(first["approved_usd"].value)) == Decimal(body["rows"][0]["approved_usd"])
    assert isinstance(first["accepted_at"].value, datetime.datetime)  # a timestamp, naive
    assert first["accepted_at"].value.tzinfo is None
    total = [c.value for c in sheet[sheet.max_row]]
    assert total[0] == "TOTAL"
    assert total[header.index("approved_usd")] == float(Decimal(body["totals"]["approved_usd"]))
    assert sheet.max_row == 1 + len(body["rows"]) + 1

    outcomes = xlsx_sheet(client.get("/api/v1/reports/capacity-outcomes/?format=xlsx").content)
    header = [c.value for c in outcomes[1]]
    row = dict(zip(header, outcomes[2], strict=True))
    assert row["raised_awareness"].value is True and row["raised_awareness"].data_type == "b"


@pytest.fixture
def review(db):
    call_command("load_review_2011", stdout=io.StringIO())


def test_the_2011_review_contributions_workbook_totals_annex_c(review, client_for):
    response = client_for("donor").get("/api/v1/reports/contributions/?format=xlsx")

    sheet = xlsx_sheet(response.content)
    header = [c.value for c in sheet[1]]
    assert header == [
        "partner",
        "code",
        "kind",
        "pledged_usd",
        "received_usd",
        "outstanding_usd",
    ]
    total = dict(zip(header, sheet[sheet.max_row], strict=True))
    assert total["partner"].value == "TOTAL"
    assert Decimal(str(total["pledged_usd"].value)) == Decimal("10316087.00")
    assert Decimal(str(total["received_usd"].value)) == Decimal("9516087.00")
    assert Decimal(str(total["outstanding_usd"].value)) == Decimal("800000.00")
    assert total["pledged_usd"].number_format == "#,##0.00"
    rows = client_for("donor").get("/api/v1/reports/contributions/").json()["rows"]
    assert sheet.max_row == 1 + len(rows) + 1  # the header, a row per partner, TOTAL


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 401),
        ("no_role", 403),
        ("donor", 200),
        ("leader", 200),
        ("fund_manager", 200),
    ],
)
@pytest.mark.parametrize("report", REPORTS)
def test_each_role_gets_the_workbook_as_it_gets_the_csv(client_for, role, status, report):
    url = f"/api/v1/reports/{report}/"
    as_csv = client_for(role).get(url, {"format": "csv"})
    as_xlsx = client_for(role).get(url, {"format": "xlsx"})

    assert as_csv.status_code == as_xlsx.status_code == status
    # The same table (the error body's, when refused), numbers compared as numbers.
    sheet = xlsx_sheet(as_xlsx.content)
    assert [[comparable(c.value) for c in row] for row in sheet.iter_rows()] == [
        [comparable(cell) for cell in row] for row in csv_cells(as_csv.content)
    ]


def comparable(value):
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) or NUMBER.fullmatch(value):
        return Decimal(str(value))
    return value


def test_the_dashboard_workbooks_are_for_whom_the_csv_is(web, donor_partner, fund_manager):
    assert web("leader").get("/dashboard/region.xlsx").status_code == 403
    assert web("anonymous").get("/dashboard/region.xlsx").status_code == 302  # to log in
    assert web(fund_manager).get("/dashboard/region.xlsx").status_code == 404  # no partner
    assert web("donor").get("/dashboard/nothing.xlsx").status_code == 404
    response = web(fund_manager).get(f"/dashboard/region.xlsx?partner={donor_partner.pk}")
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="seetf-{donor_partner.code}-portfolio-by-region.xlsx"'
    )


def test_the_partner_page_offers_the_contributions_workbook(web, leader):
    PartnerFactory(name="Alpha")
    client = web(leader)
    link = page(client.get("/partners/")).testid("xlsx-contributions-report").attrs["href"]
    response = client.get(link)
    assert response.status_code == 200
    sheet = xlsx_sheet(response.content)
    assert [c.value for c in sheet[1]][0] == "partner"
    assert sheet["A2"].value == "Alpha"
