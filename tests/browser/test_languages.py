"""The leader's proposal and the donor's dashboard walked in French and in Arabic, in a
real browser (README "Languages"): the language chosen with the header's switcher (no
script needed) and kept as the user's preference; Arabic laid out right to left; no axe
violation of serious or critical level; no text wider than its box on a phone (375x740);
screenshots for the README (docs/screenshots/<page>-<language>.png).

The pages' words are the catalogues' (locale/): the checks here read the layout, the
formats and the structure, not the wording, so they hold in any language.
"""

from decimal import Decimal

import pytest
import time_machine

from accounts.models import UserPreference
from grants.models import Grant
from tests.browser.conftest import LAPTOP, assert_accessible, describe_violations
from tests.browser.test_pages import DATA_AS_OF, SCREENSHOTS, _png_size, world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_SMALL = {"width": 375, "height": 740}
NBSP = "\xa0"
# What an element wider than its box is, on a phone: its scrollWidth beyond its
# clientWidth (a box that scrolls on purpose, a form control or a drawing excepted).
OVERFLOWING = """
() => [...document.querySelectorAll("header *, main *, footer *")].filter(e => {
  const s = getComputedStyle(e);
  if (["inline", "none", "contents"].includes(s.display)) return false;
  if (["auto", "scroll", "hidden", "clip"].includes(s.overflowX)) return false;
  if (e.closest("svg, .table-scroll, select, option, input, textarea")) return false;
  return e.scrollWidth > e.clientWidth + 1;
}).map(e => `${e.tagName.toLowerCase()}.${e.className}: ${e.textContent.trim().slice(0, 60)}`)
"""


def switch_to(window, language: str) -> None:
    """The header's switcher: choose the language, press its button (a plain form)."""
    page = window.page
    form = page.get_by_test_id("language-switcher")
    form.locator("select").select_option(language)
    window.click(form.locator("button"))
    assert page.locator("html").get_attribute("lang") == language


def assert_direction(window, language: str) -> None:
    page = window.page
    direction = page.locator("html").get_attribute("dir")
    assert direction == ("rtl" if language == "ar" else None)
    computed = page.evaluate("getComputedStyle(document.body).direction")
    assert computed == ("rtl" if language == "ar" else "ltr")
    # The header mirrors: the brand at the start (the right in Arabic).
    brand = page.locator(".brand").bounding_box()
    width = page.viewport_size["width"]
    if language == "ar":
        assert brand["x"] + brand["width"] > width / 2, brand
    else:
        assert brand["x"] < width / 2, brand


def assert_fits_a_phone(window, name: str) -> None:
    page = window.page
    page.set_viewport_size(PHONE_SMALL)
    page.reload()
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"{name} scrolls sideways on a phone: {widths}"
    overflowing = page.evaluate(OVERFLOWING)
    assert not overflowing, f"{name}: text wider than its box on a phone: {overflowing}"
    page.set_viewport_size(LAPTOP)
    page.reload()


def screenshot(window, name: str) -> None:
    page = window.page
    page.evaluate("window.scrollTo(0, 0)")
    png = page.screenshot()
    assert _png_size(png) == (LAPTOP["width"], LAPTOP["height"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    if not path.exists() or path.read_bytes() != png:
        path.write_bytes(png)


def check(window, name: str, language: str, shot: str | None = None) -> None:
    assert_direction(window, language)
    violations = assert_accessible(window.page, f"{name} ({language})")
    print(f"\n{name} ({language}), axe below serious: {describe_violations(violations) or 'none'}")
    assert_fits_a_phone(window, f"{name} ({language})")
    if shot:
        screenshot(window, shot)


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_leaders_proposal_in_french_and_arabic(world, browser, language):  # noqa: F811
    leader = browser.window("demo_leader")
    switch_to(leader, language)
    assert UserPreference.objects.get(user__username="demo_leader").language == language
    page = leader.page

    leader.click(page.get_by_test_id("new-proposal"))
    check(leader, "proposal form", language, shot=f"proposal-{language}.png")
    form = page.get_by_test_id("proposal-form")
    form.locator("[name=title]").fill("Agua rural: Bolivia aprende de Brasil")
    form.locator("[name=summary]").fill("Operadores bolivianos visitan cooperativas brasileñas.")
    form.locator("[name=targeted_outcomes]").first.check()
    form.locator("[name=sector]").select_option("14020")
    form.locator("[name=region]").select_option("LCR")
    form.locator("[name=recipient_countries]").select_option("BOL")
    form.locator("[name=provider_countries]").select_option("BRA")
    form.locator("[name=planned_start]").fill("2027-02-01")
    form.locator("[name=planned_end]").fill("2027-08-31")
    form.locator("[name=requested_usd]").fill("123456.50")
    with time_machine.travel(DATA_AS_OF, tick=True):
        leader.click(form.get_by_test_id("save-draft"))
    grant = Grant.objects.get(title="Agua rural: Bolivia aprende de Brasil")
    assert grant.requested_usd == Decimal("123456.50")
    assert page.url.endswith(f"/grants/{grant.pk}/")
    requested = leader.page.get_by_test_id("grant-requested").inner_text()
    assert requested == {"fr": f"123{NBSP}456,50", "ar": "123,456.50"}[language]
    check(leader, "the draft's page", language)


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_donor_dashboard_in_french_and_arabic(world, browser, language):  # noqa: F811
    donor = browser.window("demo_donor")
    switch_to(donor, language)
    page = donor.go("/dashboard/")
    assert page.locator("html").get_attribute("lang") == language
    check(donor, "donor dashboard", language, shot=f"donor-dashboard-{language}.png")
    # Tables read from the start: a heading cell sits at its row's right in Arabic.
    table = page.locator("main table").first
    box = table.bounding_box()
    first_cell = table.locator("th").first.bounding_box()
    if language == "ar":
        assert first_cell["x"] + first_cell["width"] > box["x"] + box["width"] / 2
    else:
        assert first_cell["x"] < box["x"] + box["width"] / 2
    # The bar charts mirror: each label's text stays readable inside the drawing.
    chart = page.locator(".chart__svg[data-variant]").first
    if chart.count():
        drawing = chart.bounding_box()
        label = chart.locator("text.chart__label").first.bounding_box()
        assert drawing["x"] - 1 <= label["x"] and (
            label["x"] + label["width"] <= drawing["x"] + drawing["width"] + 1
        ), (drawing, label)
        if language == "ar":
            assert label["x"] + label["width"] / 2 > drawing["x"] + drawing["width"] / 2
