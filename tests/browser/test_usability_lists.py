"""Issue 13 in a real browser, on the 2011 review's data (test_pages' ``world``), at a
laptop's size (1366x900) and a phone's (390x844):

- the grant list sorted by its headers (aria-sort), a minimum above the maximum shown as
  an error, and the filtered list downloaded as CSV (a byte-order mark, the page's rows)
  and as Excel; on a phone the list is stacked cards;
- every chart label inside its drawing (each text's box measured within the SVG's
  viewBox and on the screen within the SVG), and beside its bar, not over it;
- a walk of every page of the journey, for each role, where on a phone no element
  overflows the viewport (the document does not scroll sideways, and no element's right
  edge is past the window's unless a box that scrolls or clips holds it);
- the screenshots of the README's "Screenshots" for the list and the phone.
"""

import csv
import io

import pytest
from openpyxl import load_workbook

from grants.models import Grant, GrantStatus
from partners.models import Partner
from results.models import ResultsStory
from tests.browser.conftest import PHONE, label
from tests.browser.test_pages import (
    _screenshot,
    world,  # noqa: F401  (the fixture)
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP_1366 = {"width": 1366, "height": 900}

# Elements whose right edge is past the window's, unless an ancestor that scrolls or
# clips (overflow other than visible) and itself ends within the window holds them.
OVERFLOWING = """
() => {
  const inner = window.innerWidth;
  const found = [];
  const root = document.documentElement;
  if (root.scrollWidth > inner) found.push(`document scrollWidth ${root.scrollWidth} > ${inner}`);
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') +
    (e.dataset && e.dataset.testid ? `[data-testid=${e.dataset.testid}]` : '');
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right <= inner + 0.5) continue;
    if (getComputedStyle(element).visibility === 'hidden') continue;
    let held = false;
    for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up);
      if ((style.overflowX !== 'visible' || style.clip !== 'auto') &&
          up.getBoundingClientRect().right <= inner + 0.5) { held = true; break; }
    }
    if (!held) found.push(`${name(element)} right=${Math.round(box.right)}`);
  }
  return found.slice(0, 15);
}
"""

# Each shown chart's texts: their box in the drawing's units within its viewBox, on
# the screen within the SVG, and (beside the bars, on a laptop) left of the bars.
CHART_TEXT_OUTSIDE = """
() => {
  const bad = [];
  for (const svg of document.querySelectorAll('svg.chart__svg')) {
    const shown = svg.getBoundingClientRect();
    if (shown.width === 0) continue;
    const view = svg.viewBox.baseVal;
    const bars = [...svg.querySelectorAll('rect.chart__bar')];
    const barX = Math.min(...bars.map(r => r.x.baseVal.value));
    for (const text of svg.querySelectorAll('text')) {
      const b = text.getBBox();
      const chart = svg.closest('figure').dataset.testid;
      const where = `${chart}/${svg.dataset.variant}: "${text.textContent}"`;
      if (b.x < -0.5 || b.x + b.width > view.width + 0.5 ||
          b.y < -0.5 || b.y + b.height > view.height + 0.5)
        bad.push(`${where} box ${b.x.toFixed(1)}..${(b.x + b.width).toFixed(1)} of ${view.width}`);
      const s = text.getBoundingClientRect();
      if (s.left < shown.left - 0.5 || s.right > shown.right + 0.5)
        bad.push(`${where} on screen ${s.left}..${s.right} of ${shown.left}..${shown.right}`);
      if (text.classList.contains('chart__label') && barX > 0 && b.x + b.width > barX + 0.5)
        bad.push(`${where} runs into the bars (${(b.x + b.width).toFixed(1)} > ${barX})`);
    }
  }
  return bad;
}
"""

SHOWN_CHARTS = """
() => [...document.querySelectorAll('svg.chart__svg')]
  .filter(svg => svg.getBoundingClientRect().width > 0)
  .map(svg => ({variant: svg.dataset.variant, width: svg.getBoundingClientRect().width,
                room: svg.closest('figure').parentElement.getBoundingClientRect().width}))
"""


def _amounts(page, column: str) -> list[str]:
    cells = page.locator(f"[data-testid=grant-table] tbody td[data-label='{column}']")
    return cells.all_inner_texts()


def _number(text: str) -> float:
    return float(text.replace(",", "")) if text.strip() not in ("", "–") else 0.0


def test_a_sorted_filtered_and_exported_grant_list(world, browser, tmp_path):  # noqa: F811
    fm = browser.window("demo_manager", viewport=LAPTOP_1366)
    page = fm.go("/grants/")
    header = page.get_by_test_id("sort-requested_usd")
    fm.click(header)
    assert page.locator("th[data-column=requested_usd]").get_attribute("aria-sort") == "ascending"
    ascending = [_number(t) for t in _amounts(page, "Requested (USD)")]
    assert ascending == sorted(ascending) and len(ascending) > 1
    fm.click(page.get_by_test_id("sort-requested_usd"))
    assert page.locator("th[data-column=requested_usd]").get_attribute("aria-sort") == "descending"
    descending = [_number(t) for t in _amounts(page, "Requested (USD)")]
    assert descending == sorted(descending, reverse=True)
    # The references do not wrap: one line each.
    heights = page.locator("[data-testid=grant-table] tbody td:first-child a").evaluate_all(
        "links => links.map(a => a.getClientRects().length)"
    )
    assert set(heights) == {1}
    # The eleven columns fit a laptop: the table does not scroll inside its box.
    widths = page.locator("[data-testid=grant-table]").evaluate(
        "t => ({table: t.scrollWidth, box: t.parentElement.clientWidth})"
    )
    assert widths["table"] <= widths["box"], widths
    _screenshot(fm, "grant-list.png", LAPTOP_1366)

    # Filter by status in the form: the sort is kept, the totals are the filtered list's.
    page.get_by_text("Filter the grants").click()  # closed while no filter is applied
    form = page.get_by_test_id("grant-filter-form")
    form.get_by_label(label("Closed")).check()
    fm.click(form.get_by_role("button", name="Filter"))
    assert "ordering=-requested_usd" in page.url and "status=closed" in page.url
    statuses = page.locator("[data-testid=grant-table] [data-testid=grant-status]").evaluate_all(
        "badges => badges.map(b => b.dataset.status)"
    )
    assert set(statuses) == {"closed"}
    closed = Grant.objects.filter(status=GrantStatus.CLOSED)
    assert len(statuses) == min(closed.count(), 25)
    total = sum(g.requested_usd for g in closed)
    assert _number(fm.text("total-requested")) == float(total)

    # Download it: a CSV Excel reads as UTF-8, with the page's grants in the page's order.
    with page.expect_download() as download:
        page.get_by_test_id("grant-list-csv").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    content = target.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    shown = page.locator("[data-testid=grant-table] tbody td:first-child").all_inner_texts()
    assert [r["reference"] for r in rows[:-1]][: len(shown)] == shown
    assert rows[-1]["reference"] == "TOTAL"
    assert {r["status_label"] for r in rows[:-1]} == {"Closed"}
    assert "id" not in rows[0]
    with page.expect_download() as download:
        page.get_by_test_id("grant-list-xlsx").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    sheet = load_workbook(target).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))][:2] == ["reference", "title"]

    # A minimum above the maximum: said so, with a link to the field, not "0 grants".
    page = fm.go("/grants/?min_usd=500000&max_usd=1000")
    summary = page.get_by_test_id("grant-filter-errors")
    assert "must not be below" in summary.inner_text()
    assert page.get_by_test_id("grant-count").count() == 0

    # On a phone: the list is cards, each value with its column's name.
    page.set_viewport_size(PHONE)
    page = fm.go("/grants/?ordering=-requested_usd")
    display = page.locator("[data-testid=grant-table] tbody tr").first.evaluate(
        "tr => getComputedStyle(tr).display"
    )
    assert display == "block"
    before = page.locator("[data-testid=grant-table] tbody td[data-label=Status]").first.evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    assert before == '"Status"'
    assert page.evaluate(OVERFLOWING) == []
    _screenshot(fm, "grant-list-phone.png", PHONE, at="[data-testid=grant-count]")


@pytest.mark.parametrize("size", [LAPTOP_1366, PHONE], ids=["laptop", "phone"])
def test_every_chart_label_fits(world, browser, size):  # noqa: F811
    donor = browser.window("demo_donor", viewport=size)
    page = donor.go("/dashboard/")
    charts = page.evaluate(SHOWN_CHARTS)
    assert len(charts) == 5, charts
    variant = "narrow" if size is PHONE else "wide"
    assert {c["variant"] for c in charts} == {variant}
    # The full width of the panel the chart is in.
    for chart in charts:
        assert chart["width"] >= chart["room"] - 40, chart
    assert page.evaluate(CHART_TEXT_OUTSIDE) == []
    # The longest labels are whole in the tooltip, abbreviated at their end if at all.
    sector = page.get_by_test_id("chart-sector").locator(f"svg[data-variant={variant}] g").first
    title = sector.locator("title").text_content()
    shown = " ".join(sector.locator("text.chart__label tspan").all_text_contents())
    assert title.split(":")[0].startswith(shown.rstrip("…").split()[0])
    # The table of contents leads to each part of the long page.
    toc = page.get_by_test_id("dashboard-toc")
    for href in toc.locator("a").evaluate_all("links => links.map(a => a.hash)"):
        assert page.locator(href).count() == 1, href
    if size is PHONE:
        _screenshot(donor, "donor-dashboard-phone.png", PHONE, at="#sector-heading")


def _journey(role: str) -> list[str]:
    """The pages of a day's work for each role (tests/browser/test_journey.py walks a
    grant through them; test_pages.py shows each role's main page)."""
    by_title = {g.title: g.pk for g in Grant.objects.all()}
    draft = by_title["Early-grade reading: Rwanda learns from Kenya's Tusome programme"]
    submitted = by_title["Peer learning on conditional cash transfers"]
    approved = by_title["Primary health care networks: Ghana learns from Brazil"]
    completed = by_title["Solar mini-grids: Nepal learns from Bangladesh"]
    closed = Grant.objects.filter(status=GrantStatus.CLOSED).order_by("pk").first().pk
    story = ResultsStory.objects.filter(published=True).order_by("pk").first()
    denmark = Partner.objects.get(code="DNK").pk
    public = ["/", "/hub/", "/hub/?search=water", f"/stories/{story.slug}/", "/offers/"]
    return {
        "visitor": [*public, "/login/"],
        "demo_leader": [
            "/", "/grants/", "/grants/new/", f"/grants/{draft}/", f"/grants/{draft}/edit/",
            f"/grants/{approved}/", f"/grants/{approved}/report/",
            f"/grants/{approved}/exchanges/new/", "/account/", "/password/", "/requests/",
        ],
        "demo_manager": [
            "/", "/grants/", "/grants/?ordering=-requested_usd&status=closed",
            "/grants/?min_usd=9&max_usd=1", f"/grants/{submitted}/", f"/grants/{approved}/",
            f"/grants/{completed}/",
            f"/grants/{completed}/report/", f"/grants/{closed}/", f"/grants/{closed}/report/",
            "/partners/", f"/partners/{denmark}/", "/contributions/", "/windows/",
            f"/dashboard/?partner={denmark}", "/process/", "/flows/", "/requests/",
            "/offers/", "/audit/", "/logins/", "/publishing/", "/import/",
        ],
        "demo_donor": ["/", "/dashboard/", "/grants/", "/hub/"],
    }[role]  # fmt: skip


@pytest.mark.parametrize("role", ["visitor", "demo_leader", "demo_manager", "demo_donor"])
def test_no_page_of_the_journey_overflows_a_phone(world, browser, role):  # noqa: F811
    window = browser.window(None if role == "visitor" else role, viewport=PHONE)
    overflowing = {}
    for path in _journey(role):
        response = window.page.goto(path)
        assert response is not None and response.status == 200, (path, response.status)
        window.check()
        found = window.page.evaluate(OVERFLOWING)
        if found:
            overflowing[path] = found
    assert not overflowing, "\n".join(f"{p}: {f}" for p, f in overflowing.items())


def test_the_overflow_measure_sees_an_overflow(browser):
    """The measure above can fail: an element wider than a phone is found, one in a
    box that scrolls is not."""
    window = browser.window(viewport=PHONE)
    page = window.go("/login/")
    page.evaluate(
        """() => {
          const wide = document.createElement('p');
          wide.textContent = 'x'; wide.style.width = '600px'; wide.id = 'too-wide';
          document.querySelector('main').append(wide);
        }"""
    )
    found = page.evaluate(OVERFLOWING)
    assert any("p#too-wide" in line for line in found), found
    page.evaluate(
        """() => {
          const box = document.createElement('div');
          box.style.overflowX = 'auto'; box.style.width = '100px';
          box.append(document.getElementById('too-wide'));
          document.querySelector('main').append(box);
        }"""
    )
    assert page.evaluate(OVERFLOWING) == []


def test_the_hub_on_a_phone_shows_stories_first(world, browser):  # noqa: F811
    visitor = browser.window(viewport=PHONE)
    page = visitor.go("/hub/")
    filters = page.get_by_test_id("hub-filters")
    assert filters.evaluate("d => d.open") is False
    first_card = page.get_by_test_id("story-card").first.bounding_box()
    assert first_card["y"] < PHONE["height"], first_card
    # One tap opens the form; a search comes back with it open and the count in words.
    page.get_by_text("Search and filter the stories").click()
    page.get_by_test_id("hub-search-form").get_by_label(label("Search")).fill("water")
    visitor.click(page.get_by_test_id("hub-search-form").get_by_role("button", name="Search"))
    assert page.get_by_test_id("hub-filters").evaluate("d => d.open") is True
    count = visitor.text("story-count")
    assert count.endswith("match your search.") or count.endswith("matches your search.")
    # On a laptop it is open from the start.
    laptop = browser.window(viewport=LAPTOP_1366)
    assert laptop.go("/hub/").get_by_test_id("hub-filters").evaluate("d => d.open") is True
