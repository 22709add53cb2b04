"""The main page of each role in a real browser, on the 2011 review's data: styled by the
site's stylesheet (served with 200), free of serious and critical accessibility
violations (axe-core), without horizontal scrolling on a phone (390x844), and
photographed at laptop size (1280x800) for the README (docs/screenshots/).

Also: the watch every browser test relies on (conftest.Window) does catch a request
leaving the machine and a console error.
"""

import struct
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from grants import services as grant_services
from grants.models import GrantStatus
from partners.models import Country, Partner, Sector
from partners.roles import Role
from partners.services import user_create_or_update
from results.models import ResultsStory
from tests.browser.conftest import (
    LAPTOP,
    PASSWORD,
    PHONE,
    SCREENSHOTS,
    assert_accessible,
    describe_violations,
)
from tests.grants.factories import make_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The data is made as of this moment, so that the dates on the pages (submitted on,
# published on) and therefore the screenshots do not change from one day to the next.
DATA_AS_OF = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
HEADER_BACKGROUND = "rgb(8, 59, 106)"  # site.css: .site-header, var(--primary-dark)


def _proposal(leader, manager, status, title, *, sector, region, recipients, providers, **kw):
    return make_grant(
        leader,
        status,
        manager=manager,
        title=title,
        sector=Sector.objects.get(code=sector),
        region=region,
        recipient_countries=[Country.objects.get(code=c) for c in recipients],
        provider_countries=[Country.objects.get(code=c) for c in providers],
        planned_start=date(2027, 3, 1),
        planned_end=date(2027, 11, 30),
        **kw,
    )


@pytest.fixture
def world(transactional_db):
    """The 2011 review (Annex C money, 21 closed grants, six published stories), the demo
    users of the README, and a leader's grants at each stage."""
    with time_machine.travel(DATA_AS_OF, tick=True):
        call_command("load_review_2011", verbosity=0)

        def user(username, role, partner=None):
            return user_create_or_update(
                username=username,
                roles=[role],
                partner=partner,
                password=PASSWORD,
                email=f"{username}@example.org",
            )

        manager = user("demo_manager", Role.FUND_MANAGER)
        leader = user("demo_leader", Role.TASK_TEAM_LEADER)
        other = user("lucia", Role.TASK_TEAM_LEADER)
        user("demo_donor", Role.DONOR, partner=Partner.objects.get(code="DNK"))

        _proposal(
            leader, manager, GrantStatus.DRAFT,
            "Early-grade reading: Rwanda learns from Kenya's Tusome programme",
            sector="11110", region="AFR", recipients=["RWA"], providers=["KEN"],
            requested_usd=Decimal("90000.00"),
        )  # fmt: skip
        _proposal(
            leader, manager, GrantStatus.SUBMITTED,
            "Peer learning on conditional cash transfers",
            sector="16010", region="LCR", recipients=["HND"], providers=["MEX"],
            requested_usd=Decimal("200000.00"),
        )  # fmt: skip
        _proposal(
            other, manager, GrantStatus.SUBMITTED,
            "Geothermal licensing: Ethiopia learns from Kenya",
            sector="23210", region="AFR", recipients=["ETH"], providers=["KEN"],
            requested_usd=Decimal("150000.00"),
        )  # fmt: skip
        returned = _proposal(
            leader, manager, GrantStatus.SUBMITTED,
            "Rural water utilities: Bolivia learns from Brazil",
            sector="14020", region="LCR", recipients=["BOL"], providers=["BRA"],
            requested_usd=Decimal("120000.00"),
        )  # fmt: skip
        grant_services.grant_transition(
            grant=returned,
            user=manager,
            action="return",
            comment="Say who in the utilities will pass the lessons on, and how.",
        )
        _proposal(
            leader, manager, GrantStatus.APPROVED,
            "Primary health care networks: Ghana learns from Brazil",
            sector="12220", region="AFR", recipients=["GHA"], providers=["BRA"],
            requested_usd=Decimal("110000.00"),
        )  # fmt: skip
        _proposal(
            other, manager, GrantStatus.COMPLETED,
            "Solar mini-grids: Nepal learns from Bangladesh",
            sector="23230", region="SAR", recipients=["NPL"], providers=["BGD"],
            requested_usd=Decimal("80000.00"),
        )  # fmt: skip
    return {"story": ResultsStory.objects.filter(published=True).order_by("pk").first()}


def _assert_styled(window) -> None:
    """The stylesheet was served (200) and applies."""
    page = window.page
    statuses = {status for url, status in window.responses if url.endswith("/seetf/site.css")}
    assert 200 in statuses, f"site.css: {statuses or 'never requested'}"
    loaded = page.evaluate(
        "[...document.styleSheets].filter(s => s.href && s.href.endsWith('/seetf/site.css'))"
        ".map(s => s.cssRules.length)"
    )
    assert loaded and loaded[0] > 0, f"site.css not applied on {page.url}"
    background = page.locator(".site-header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == HEADER_BACKGROUND, background


def _assert_figures_fit(window) -> None:
    """No key figure (10,316,087.00 pledged...) spills out of its box."""
    spilling = window.page.locator(".figure dd").evaluate_all(
        "dds => dds.filter(dd => dd.scrollWidth > dd.clientWidth).map(dd => dd.textContent)"
    )
    assert not spilling, f"figures wider than their box on {window.page.url}: {spilling}"


def _assert_fits_a_phone(window, path: str) -> None:
    page = window.page
    page.set_viewport_size(PHONE)
    window.go(path)
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"{path} scrolls sideways on a phone: {widths}"
    _assert_figures_fit(window)
    page.set_viewport_size(LAPTOP)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def _screenshot(window, name: str, size: dict = LAPTOP, at: str | None = None) -> None:
    """The page's first screen at its window's size (a laptop's unless told), or the
    screen from the element ``at`` (a CSS selector), saved for the README (only
    rewritten when it changed)."""
    page = window.page
    if at is None:
        page.evaluate("window.scrollTo(0, 0)")
    else:
        page.locator(at).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    png = page.screenshot()
    assert _png_size(png) == (size["width"], size["height"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    if not path.exists() or path.read_bytes() != png:
        path.write_bytes(png)


def test_the_main_page_of_each_role(world, browser):
    minor = {}  # axe's moderate and minor findings, shown with -s

    def check(window, path, name, *, screenshot=None, phone=False):
        page = window.go(path)
        _assert_styled(window)
        _assert_figures_fit(window)
        minor[name] = assert_accessible(page, name)
        if screenshot:
            _screenshot(window, screenshot)
        if phone:
            _assert_fits_a_phone(window, path)
        return page

    # The fund manager: the fund's money, the review queue, reports to accept.
    fm = browser.window("demo_manager")
    page = check(fm, "/", "fund manager home", screenshot="fund-manager-home.png", phone=True)
    assert fm.text("fund-received") == "9,516,087.00"
    queue = fm.text("review-queue")
    assert "Peer learning on conditional cash transfers" in queue
    assert "Geothermal licensing: Ethiopia learns from Kenya" in queue
    assert "Solar mini-grids" in fm.text("reports-to-accept")

    # The task team leader: their grants by status, the return comment, reports owed.
    ttl = browser.window("demo_leader")
    check(ttl, "/", "task team leader home", screenshot="task-team-leader-home.png", phone=True)
    assert ttl.text("return-comment") == (
        "Say who in the utilities will pass the lessons on, and how."
    )
    assert "Primary health care networks" in ttl.text("reports-due")

    # The donor: their home, and the dashboard (their main page).
    donor = browser.window("demo_donor")
    check(donor, "/", "donor home", phone=True)
    check(donor, "/dashboard/", "donor dashboard", screenshot="donor-dashboard.png", phone=True)
    assert donor.text("dashboard-partner") == "Denmark"
    totals = donor.page.get_by_test_id("outcome-total").all_inner_texts()
    assert totals == ["15", "16", "5", "0", "8", "18"]  # Annex D

    # The public: the home page, the knowledge hub, a story, the login page.
    visitor = browser.window()
    check(visitor, "/", "public home", phone=True)
    page = check(visitor, "/hub/", "public hub", screenshot="public-hub.png", phone=True)
    assert visitor.text("story-count") == "6 stories"
    story = world["story"]
    page = check(visitor, f"/stories/{story.slug}/", "story page", phone=True)
    assert page.get_by_role("heading", level=1).inner_text() == story.title
    check(visitor, "/login/", "login page", phone=True)

    print("\naxe findings below serious (moderate, minor):")
    for name, violations in minor.items():
        print(f"{name}: {describe_violations(violations) or 'none'}")


def test_the_watch_catches_requests_off_the_machine_and_console_errors(browser):
    # The site's Content-Security-Policy refuses the fetch before it leaves (tests/browser/
    # test_csp.py): set aside here, to show the watch's own net behind it.
    window = browser.window(bypass_csp=True)
    page = window.go("/hub/")
    page.evaluate("fetch('https://example.org/tracker.js').catch(() => null)")
    page.evaluate("console.error('something broke')")
    page.wait_for_timeout(200)
    assert window.outside == ["https://example.org/tracker.js"]
    assert any("something broke" in error for error in window.errors)
    with pytest.raises(AssertionError, match="requests left localhost"):
        window.check()
    window.outside.clear()
    window.errors.clear()  # this test's own provocations, not the page's


def test_the_favicon_is_served(browser):
    """Every page links /static/seetf/favicon.svg; the watch forgives the browser for
    abandoning its fetch, so it is fetched here on its own."""
    window = browser.window()
    page = window.go("/hub/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href.endswith("/favicon.svg")
    response = window.context.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in response.body()
