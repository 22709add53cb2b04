"""The analytics pages in a real browser, on the 2011 review's data (the world of
test_pages): the fund manager's Process page (the cycle-time trend, the overdue list) and
the world map of the exchanges (its own page, the hub's and the donor dashboard's): no
request leaves the machine, no console error (conftest.Window), no serious or critical
axe violation, no sideways scrolling on a phone, and a screenshot each for the README."""

import pytest

from tests.analytics.test_review_2011 import BOX_FLOWS
from tests.browser import test_pages
from tests.browser.conftest import assert_accessible
from tests.browser.test_pages import _assert_fits_a_phone, _assert_styled, _screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

world = test_pages.world  # the same data as the other pages' tests


def _arcs(page) -> set[tuple[str, str]]:
    return {
        (arc.get_attribute("data-provider"), arc.get_attribute("data-recipient"))
        for arc in page.get_by_test_id("map-arc").all()
    }


def test_the_process_page(world, browser):
    fm = browser.window("demo_manager")
    page = fm.go("/")
    assert page.get_by_test_id("home-overdue-standards").is_visible()
    page = fm.click(page.get_by_test_id("process-link"))
    assert page.url.endswith("/process/")
    _assert_styled(fm)
    assert_accessible(page, "process page")
    chart = page.get_by_test_id("chart-cycle-times")
    assert chart.is_visible()
    # The picture's text alternative and the table beside it say the same: the review's
    # 21 grants were decided 28 days after submission (2009-Q2).
    svg = chart.locator("svg")
    assert svg.get_attribute("role") == "img"
    assert "2009-Q2 28.0" in chart.locator("desc").text_content()
    row = page.locator('[data-testid="trend-row"][data-quarter="2009-Q2"]')
    assert row.locator("td").nth(1).inner_text() == "28.0"
    assert page.get_by_test_id("overdue-standard-row").count() >= 1
    _screenshot(fm, "process.png")
    _assert_fits_a_phone(fm, "/process/")


def test_the_exchange_map(world, browser):
    visitor = browser.window()
    page = visitor.go("/flows/")
    _assert_styled(visitor)
    assert_accessible(page, "exchange map")
    figure = page.get_by_test_id("exchange-map")
    assert figure.locator("svg").is_visible()
    assert figure.locator("svg title").first.text_content().startswith("Who learned from whom")
    assert _arcs(page) == BOX_FLOWS
    assert page.get_by_test_id("flow-row").count() == len(BOX_FLOWS)
    assert page.get_by_test_id("region-matrix").is_visible()
    page.get_by_test_id("exchange-map").scroll_into_view_if_needed()
    _screenshot(visitor, "exchange-map.png")
    _assert_fits_a_phone(visitor, "/flows/")

    # The same map on the knowledge hub and the donor dashboard.
    page = visitor.go("/hub/")
    assert _arcs(page) == BOX_FLOWS
    assert_accessible(page, "hub with the map")
    donor = browser.window("demo_donor")
    page = donor.go("/dashboard/")
    assert _arcs(page) == BOX_FLOWS
    assert_accessible(page, "dashboard with the map")
    # The downloads beside the map.
    response = donor.context.request.get(page.get_by_test_id("csv-regions").get_attribute("href"))
    assert response.status == 200 and response.body().decode("utf-8-sig").startswith("provider,")
