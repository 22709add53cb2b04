"""The grant list for a day's work (issue 13): sortable columns, leader, countries,
window and dates, search by reference or leader, totals of the filtered list, the API's
filters with a minimum above the maximum refused, and CSV and XLSX of the list."""

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from grants.models import GrantStatus
from tests.grants.factories import make_grant
from tests.web.pages import money, page

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(leader, leader2, fund_manager, funded):
    leader2.first_name, leader2.last_name = "Amina", "Okafor"
    leader2.save()
    return [
        make_grant(leader, GrantStatus.SUBMITTED, title="Bravo", requested_usd=Decimal("300000")),
        make_grant(leader2, GrantStatus.APPROVED, manager=fund_manager, title="Alpha",
                   requested_usd=Decimal("100000")),
        make_grant(leader2, GrantStatus.SUBMITTED, title="Charlie",
                   requested_usd=Decimal("200000")),
    ]  # fmt: skip


def _rows(response):
    return page(response).testid("grant-table").find("tbody").find_all("tr")


def _titles(response):
    return [row.find_all("td")[1].text for row in _rows(response)]


def test_the_headers_sort_on_the_server_and_say_so(web, fund_manager, three):
    client = web(fund_manager)
    root = page(client.get("/grants/"))
    header = root.testid("sort-requested_usd")
    assert header.parent.attrs["aria-sort"] == "none"
    ascending = client.get("/grants/" + header.attrs["href"])
    assert _titles(ascending) == ["Alpha", "Charlie", "Bravo"]
    header = page(ascending).testid("sort-requested_usd")
    assert header.parent.attrs["aria-sort"] == "ascending"
    descending = client.get("/grants/" + header.attrs["href"])
    assert _titles(descending) == ["Bravo", "Charlie", "Alpha"]
    assert page(descending).testid("sort-requested_usd").parent.attrs["aria-sort"] == "descending"
    assert _titles(client.get("/grants/?ordering=title")) == ["Alpha", "Bravo", "Charlie"]
    # The sort keeps the filters, and an unknown one is the default order, not an error.
    assert (
        "status=submitted"
        in page(client.get("/grants/?status=submitted")).testid("sort-title").attrs["href"]
    )
    assert client.get("/grants/?ordering=password").status_code == 200


def test_the_columns_a_fund_manager_works_with(web, fund_manager, three):
    client = web(fund_manager)
    root = page(client.get("/grants/?ordering=title"))
    headers = [th.text.strip() for th in root.testid("grant-table").find("thead").find_all("th")]
    for label in [
        "Leader",
        "Countries",
        "Window",
        "Planned: start · Planned: end",
        "Disbursed (USD)",
    ]:
        assert label in headers, label  # fmt: skip
    first = _rows(client.get("/grants/?ordering=title"))[0]
    cells = {td.attrs["data-label"]: td.text.strip() for td in first.find_all("td")}
    assert cells["Leader"] == "Amina Okafor"
    assert cells["Countries"].startswith("HND") and "MEX" in cells["Countries"]
    assert " ".join(cells["Planned"].split()) == "2026-01-10 – 2026-06-30"
    assert _titles(client.get("/grants/?ordering=-planned_end"))[0] in {"Alpha", "Bravo", "Charlie"}
    assert cells["Window"] == "The fund"
    # The reference does not wrap.
    assert "nowrap" in first.find_all("td")[0].attrs["class"]


def test_search_finds_a_reference_or_a_leader(web, fund_manager, three):
    client = web(fund_manager)
    bravo = three[0]
    assert _titles(client.get(f"/grants/?search={bravo.reference}")) == ["Bravo"]
    assert _titles(client.get("/grants/?search=okafor&ordering=title")) == ["Alpha", "Charlie"]
    assert _titles(client.get("/grants/?search=amina+charlie")) == ["Charlie"]


def test_the_totals_are_the_whole_filtered_list(web, fund_manager, three):
    client = web(fund_manager)
    root = page(client.get("/grants/?status=submitted"))
    assert money(root.testid("total-requested").text) == Decimal("500000.00")
    assert money(root.testid("total-approved").text) == Decimal("0")
    root = page(client.get("/grants/"))
    assert money(root.testid("total-requested").text) == Decimal("600000.00")
    assert money(root.testid("total-approved").text) == Decimal("100000.00")
    assert money(root.testid("total-disbursed").text) == Decimal("0")


def test_a_minimum_above_the_maximum_is_an_error_not_an_empty_list(web, fund_manager, three):
    response = web(fund_manager).get("/grants/?min_usd=500000&max_usd=1000")
    assert response.status_code == 200
    root = page(response)
    errors = root.testid("grant-filter-errors")
    assert "must not be below" in errors.text
    assert errors.find("a").attrs["href"] == "#id_max_usd"
    assert root.find(data_testid="grant-count") is None
    assert root.find(data_testid="grant-table") is None
    assert "No grant matches." not in response.content.decode()


def test_the_api_refuses_it_too(client_for, three):
    response = client_for("fund_manager").get("/api/v1/grants/?min_usd=500000&max_usd=1000")
    assert response.status_code == 400
    assert "max_usd" in response.json()
    response = client_for("fund_manager").get(f"/api/v1/grants/?search={three[0].reference}")
    assert [g["title"] for g in response.json()["results"]] == ["Bravo"]


def test_help_texts_read_for_people(web, fund_manager, three):
    text = page(web(fund_manager).get("/grants/")).testid("grant-filter-form").text
    assert "ISO 3166" not in text
    assert "The country that learns." in text


def test_the_filtered_list_downloads_as_csv_and_excel(web, fund_manager, three):
    client = web(fund_manager)
    root = page(client.get("/grants/?status=submitted&ordering=-requested_usd"))
    href = root.testid("grant-list-csv").attrs["href"]
    assert "status=submitted" in href and "ordering=-requested_usd" in href
    response = client.get("/grants/" + href)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="seetf-grants-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    body, total = rows[:-1], rows[-1]
    assert [r["title"] for r in body] == ["Bravo", "Charlie"]
    assert body[0]["status_label"] == "Submitted" and body[0]["region_name"].startswith("Latin")
    assert body[1]["leader_name"] == "Amina Okafor"
    assert body[0]["recipient_countries"] == "Honduras"
    assert "id" not in body[0] and "approved_usd" not in body[0]  # empty in every row
    assert total["reference"] == "TOTAL" and Decimal(total["requested_usd"]) == 500000

    workbook = client.get("/grants/" + root.testid("grant-list-xlsx").attrs["href"])
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:2] == ["reference", "title"]
    assert [row[1] for row in values[1:-1]] == ["Bravo", "Charlie"]
    requested = values[0].index("requested_usd")
    assert values[1][requested] == 300000


def test_a_refused_filter_downloads_nothing(web, fund_manager, three):
    response = web(fund_manager).get("/grants/?min_usd=5&max_usd=1&format=csv")
    assert response["Content-Type"].startswith("text/html")


def test_a_leader_downloads_only_what_they_see(web, leader, three):
    response = web(leader).get("/grants/?format=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sorted(r["title"] for r in rows[:-1]) == ["Alpha", "Bravo"]
