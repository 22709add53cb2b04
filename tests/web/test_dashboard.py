"""The donor's contribution dashboard: their money and share, what the fund finances,
the capacity outcomes (Annex D), follow-up needs and stories; each chart an SVG with a
title, its numbers in a table and in a CSV download."""

import csv
import io
from decimal import Decimal

import pytest

from grants.models import GrantStatus
from results import selectors
from tests.factories import PartnerFactory, fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant, make_story
from tests.web.pages import money, page

pytestmark = pytest.mark.django_db

CHARTS = ["chart-contributions", "chart-region", "chart-sector", "chart-status", "chart-outcomes"]
TABLES = ["contributions", "region", "sector", "status", "outcomes", "follow_up"]


@pytest.fixture
def portfolio(donor_partner, leader, fund_manager):
    contribution = make_contribution(donor_partner, pledged_amount="2000000.00")
    make_receipt(contribution, "1000000.00")
    fund_with("3000000.00")
    closed = finished_grant(
        leader,
        fund_manager,
        outcomes=["raised_awareness", "enhanced_networks"],
        title="Closed in Kenya",
        recipient_countries=["KEN"],
        region="AFR",
        sector="14010",
    )
    follow = finished_grant(leader, fund_manager, title="Needs follow-up", accept=False)
    make_grant(leader, GrantStatus.APPROVED, manager=fund_manager, title="Running")
    make_grant(leader, GrantStatus.SUBMITTED, title="Not yet decided")
    make_story(fund_manager, closed, published=True, title="Kenya's utilities learn")
    make_story(fund_manager, closed, published=False, title="Unpublished draft")
    return {"closed": closed, "follow": follow}


def test_the_donor_sees_their_money_share_and_what_the_fund_finances(
    web, donor, donor_partner, portfolio
):
    data = selectors.donor_dashboard(partner=donor_partner, user=donor)
    root = page(web(donor).get("/dashboard/"))
    assert root.testid("dashboard-partner").text == donor_partner.name
    assert money(root.testid("donor-pledged").text) == Decimal("2000000.00")
    assert money(root.testid("donor-received").text) == Decimal("1000000.00")
    assert root.testid("donor-share").text == f"{data['share_of_fund_received_percent']} %"
    assert root.testid("donor-share").text == "25.00 %"

    for chart_id in CHARTS:
        figure = root.testid(chart_id)
        svg = figure.find("svg")
        assert svg.attrs["role"] == "img"
        title = svg.find("title", id=f"{chart_id}-title")
        assert title is not None and title.text
        assert svg.attrs["aria-labelledby"] == f"{chart_id}-title"

    # By status: the portfolio is approved grants and later, never the pipeline.
    status_rows = [
        [cell.text for cell in row.find_all()[:2]]
        for row in root.testid("table-status").find("tbody").find_all("tr")
    ]
    assert [r[0] for r in status_rows] == ["Approved", "Closed", "Completed"]
    # Drawn for a laptop and for a phone (the stylesheet shows one): a bar each.
    for variant in ("wide", "narrow"):
        drawing = root.testid("chart-status").find("svg", data_variant=variant)
        assert len(drawing.find_all("rect")) == 3

    region = root.testid("table-region")
    assert "Sub-Saharan Africa" in region.text


def test_the_annex_d_view_shows_the_closed_grants_outcomes(web, donor, portfolio):
    closed = portfolio["closed"]
    root = page(web(donor).get("/dashboard/"))
    table = root.testid("table-outcomes")
    row = table.find(data_grant=str(closed.pk))
    marks = [cell.find("span", **{"class": "visually-hidden"}).text for cell in row.find_all("td")]
    # raised_awareness, enhanced_knowledge..., consensus, coalitions, networks, know-how
    assert marks == ["yes", "no", "no", "no", "yes", "no"]
    # A donor reads accepted reports only: the grant whose report waits is not there.
    assert table.find(data_grant=str(portfolio["follow"].pk)) is None
    totals = [int(cell.text) for cell in table.find_all(data_testid="outcome-total")]
    assert totals == [1, 0, 0, 0, 1, 0]


def test_every_table_downloads_as_csv_with_the_same_numbers(web, donor, donor_partner, portfolio):
    client = web(donor)
    root = page(client.get("/dashboard/"))
    for table in TABLES:
        link = root.testid(f"csv-{table}")
        response = client.get(link.attrs["href"])
        assert response.status_code == 200, table
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith("attachment; filename=")
        # A byte-order mark first, so that Excel reads the file as UTF-8.
        assert response.content.startswith(b"\xef\xbb\xbf"), table
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0], table
    region = list(
        csv.DictReader(io.StringIO(client.get("/dashboard/region.csv").content.decode("utf-8-sig")))
    )
    afr = next(r for r in region if r["region"] == "AFR")
    assert afr["name"] == "Sub-Saharan Africa"
    assert Decimal(afr["approved_usd"]) == Decimal("100000.00")
    contributions = client.get("/dashboard/contributions.csv").content.decode("utf-8-sig")
    assert contributions.splitlines()[-1].split(",")[0] == "TOTAL"


def test_the_dashboard_lists_published_stories_only(web, donor, portfolio):
    stories = page(web(donor).get("/dashboard/")).testid("dashboard-stories")
    assert [c.find("a").text for c in stories.find_all(data_testid="story-card")] == [
        "Kenya's utilities learn"
    ]


def test_a_fund_manager_chooses_the_partner(web, fund_manager, donor_partner, portfolio):
    client = web(fund_manager)
    root = page(client.get("/dashboard/"))
    root.testid("dashboard-partner-form")
    assert root.find(data_testid="donor-money") is None
    root = page(client.get(f"/dashboard/?partner={donor_partner.pk}"))
    assert money(root.testid("donor-pledged").text) == Decimal("2000000.00")
    href = root.testid("csv-region").attrs["href"]
    assert href == f"/dashboard/region.csv?partner={donor_partner.pk}"
    assert client.get(href).status_code == 200
    assert client.get("/dashboard/region.csv").status_code == 404  # no partner chosen


def test_a_donor_sees_only_their_own_partner(web, donor, donor_partner, portfolio):
    other = PartnerFactory(name="Someone else")
    make_contribution(other, pledged_amount="99.00")
    root = page(web(donor).get(f"/dashboard/?partner={other.pk}"))
    assert root.testid("dashboard-partner").text == donor_partner.name


def test_leaders_have_no_donor_dashboard(web, leader):
    assert web(leader).get("/dashboard/").status_code == 403
    assert web(leader).get("/dashboard/region.csv").status_code == 403


def test_an_unknown_table_is_a_404(web, donor):
    assert web(donor).get("/dashboard/nothing.csv").status_code == 404


def test_an_empty_fund_draws_no_bars(web, donor):
    root = page(web(donor).get("/dashboard/"))
    assert root.testid("chart-region").find("svg") is None
    assert "Nothing to show yet." in root.testid("chart-region").text


def _csv_rows(response):
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_downloads_are_for_people(web, donor, donor_partner, portfolio):
    """Issue 13: labels beside codes, no internal ids, no column empty in every row,
    and a byte-order mark so that Excel keeps the accents."""
    client = web(donor)
    contributions = client.get("/dashboard/contributions.csv")
    assert contributions.content.startswith(b"\xef\xbb\xbf")
    columns = list(_csv_rows(contributions)[0])
    assert "id" not in columns
    assert columns.index("status_label") == columns.index("status") + 1
    first = _csv_rows(contributions)[0]
    assert (first["status"], first["status_label"]) == ("partially_received", "Partially received")

    region = _csv_rows(client.get("/dashboard/region.csv"))
    assert list(region[0])[:2] == ["region", "name"]
    assert {r["region"]: r["name"] for r in region}["AFR"] == "Sub-Saharan Africa"

    outcomes = _csv_rows(client.get("/dashboard/outcomes.csv"))
    # No grant id, and no column the rows all leave empty (the count of grants, a total).
    assert "grant" not in outcomes[0] and "grants" not in outcomes[0]
    assert outcomes[0]["reference"] == portfolio["closed"].reference
    for row in outcomes[:-1]:
        assert all(value != "" for key, value in row.items()), row


def test_the_workbooks_drop_the_ids_as_the_csv_does(web, donor, portfolio):
    from openpyxl import load_workbook

    response = web(donor).get("/dashboard/contributions.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert "id" not in header and "status_label" in header


def test_the_dashboard_has_a_table_of_contents(web, donor, portfolio):
    root = page(web(donor).get("/dashboard/"))
    targets = [a.attrs["href"] for a in root.testid("dashboard-toc").find_all("a")]
    assert targets[0] == "#money-heading"
    for target in targets:
        assert root.find(id=target[1:]) is not None, target
