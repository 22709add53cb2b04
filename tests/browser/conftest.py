"""Browser tests: Playwright's sync API drives Debian's chromium (never a downloaded
browser) against the application served by pytest-django's ``live_server``.

Every window a test opens is watched from its first request: a request to any host but
this machine is aborted and recorded; console errors, uncaught page errors, and
sub-resources (stylesheet, script, icon) that fail or answer other than 200 are recorded
too. ``Window.check()`` fails the test on any of them; ``go`` and ``click`` call it
after every page load, and the fixture once more when the test ends.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "a-long-browser-test-password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TIMEOUT_MS = 15_000


@pytest.fixture(autouse=True)
def _require_chromium() -> None:
    """Before any set-up: without chromium, skip (with the reason), but fail in CI."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return
    message = (
        f"The browser tests need Debian's chromium at {CHROMIUM} "
        "(apt-get install chromium); Playwright's own browsers are never used."
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def label(text: str) -> re.Pattern:
    """A field's label, exactly: Django may add ":" and site.css " *" (required)."""
    return re.compile(rf"^\s*{re.escape(text)}:?( \*)?\s*$")


class Window:
    """One person's browser window, with its own cookies (a browser context)."""

    def __init__(self, browser, base_url: str, viewport: dict):
        self.base_url = base_url
        self.context = browser.new_context(viewport=viewport, base_url=base_url)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.outside: list[str] = []  # requests to another host (aborted)
        self.errors: list[str] = []  # console errors, page errors, failed sub-resources
        self.responses: list[tuple[str, int]] = []  # (url, status) of every response
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("response", self._response)
        self.page.on("requestfailed", self._request_failed)

    # --- Watching ----------------------------------------------------------------------

    def _route(self, route):
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _console(self, message):
        if message.type == "error":
            location = message.location or {}
            self.errors.append(f"console error: {message.text} ({location.get('url', '')})")

    def _response(self, response):
        self.responses.append((response.url, response.status))
        # A page's own status is checked by go() and click(), which expect it; a
        # sub-resource loads (200) or is still fresh in the cache (304, revalidated).
        if response.request.resource_type != "document" and response.status not in (200, 304):
            self.errors.append(f"{response.status} for {response.url}")

    def _request_failed(self, request):
        url = urlsplit(request.url)
        if url.hostname not in LOCAL_HOSTS:
            return
        # Debian's chromium 156 abandons the favicon's fetch (net::ERR_ABORTED) when the
        # page moves on before it lands: the browser's doing, not the site's.
        # test_the_favicon_is_served checks that the icon itself is there.
        if url.path.endswith("/favicon.svg") and request.failure == "net::ERR_ABORTED":
            return
        self.errors.append(f"request failed: {request.url} ({request.failure})")

    def check(self) -> None:
        assert not self.outside, f"requests left localhost: {self.outside}"
        assert not self.errors, "errors in the browser:\n" + "\n".join(self.errors)

    # --- Using the site ----------------------------------------------------------------

    def go(self, path: str, status: int = 200):
        response = self.page.goto(path)
        assert response is not None and response.status == status, (
            f"GET {path}: {response and response.status}, expected {status}"
        )
        self.check()
        return self.page

    def click(self, element, status: int = 200):
        """Click a link, or a button that sends a form, and wait for the page it leads
        to (after a redirect, the page redirected to)."""
        with self.page.expect_navigation() as navigation:
            element.click()
        response = navigation.value
        assert response is not None and response.status == status, (
            f"{self.page.url}: {response and response.status}, expected {status}"
        )
        self.check()
        return self.page

    def login(self, username: str, password: str = PASSWORD):
        """Log in through the login form, as a person does; a user who signs in with two
        factors (a fund manager) then types the code of their authenticator, or sets one
        up first (the app's code computed here from the key the page shows)."""
        page = self.go("/login/")
        form = page.get_by_test_id("login-form")
        form.get_by_label(label("Username")).fill(username)
        form.get_by_label(label("Password")).fill(password)
        self.click(form.get_by_role("button", name="Log in"))
        path = urlsplit(page.url).path
        if path == "/login/two-factor/setup/":
            self.set_up_second_factor()
        elif path == "/login/two-factor/":
            self.give_code(code_for(username))
        assert urlsplit(page.url).path == "/", f"login as {username} ended on {page.url}"
        assert f"Signed in as {username}" in page.locator(".site-user").inner_text()
        return page

    def set_up_second_factor(self) -> list[str]:
        """On the set-up page: add the key to an "app" (computed here), confirm with its
        code, keep the recovery codes and go on; returns them."""
        page = self.page
        secret = page.get_by_test_id("two-factor-secret").inner_text().replace(" ", "")
        form = page.get_by_test_id("two-factor-setup-form")
        form.get_by_label(label("Code")).fill(app_code(secret))
        self.click(form.get_by_role("button", name="Confirm"))
        codes = page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()
        self.click(page.get_by_test_id("recovery-codes-continue"))
        return codes

    def give_code(self, code: str, status: int = 200):
        form = self.page.get_by_test_id("two-factor-form")
        form.get_by_label(label("Code")).fill(code)
        return self.click(form.get_by_role("button", name="Verify"), status=status)

    def text(self, testid: str) -> str:
        return " ".join(self.page.get_by_test_id(testid).first.inner_text().split())


def app_code(secret_b32: str, at: float | None = None) -> str:
    """What an authenticator app shows for a key now (RFC 6238, django-otp's own TOTP)."""
    from base64 import b32decode

    from django_otp.oath import TOTP

    totp = TOTP(b32decode(secret_b32))
    if at is not None:
        totp.time = at
    return f"{totp.token():06d}"


def code_for(username: str) -> str:
    """The current code of the user's authenticator (a code is accepted once: the next
    time step's when this one was used)."""
    from django.contrib.auth import get_user_model

    from tests.accounts.codes import current_code

    return current_code(get_user_model().objects.get(username=username))


class Browser:
    def __init__(self, browser, base_url: str):
        self.browser = browser
        self.base_url = base_url
        self.windows: list[Window] = []

    def window(self, username: str | None = None, *, viewport: dict = LAPTOP) -> Window:
        """A new window (its own cookies), logged in as ``username`` unless None."""
        window = Window(self.browser, self.base_url, viewport)
        self.windows.append(window)
        if username is not None:
            window.login(username)
        return window


@pytest.fixture
def browser(live_server, transactional_db, monkeypatch):
    """Chromium for one test. Playwright's sync API runs an asyncio loop in this thread,
    and Django refuses database calls from a thread with a running loop: the tests' own
    set-up and checks through the ORM are allowed for the test's duration only (the
    server answers the browser from its own threads).

    While the loop runs, this thread's ORM calls get a connection of their own (Django
    keeps connections per context); it is closed here, or PostgreSQL would refuse to
    drop the test database at the end ("accessed by other users")."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        site = Browser(chromium, live_server.url)
        try:
            yield site
            for window in site.windows:
                window.check()
        finally:
            connections.close_all()
            chromium.close()


# --- Accessibility (axe-core, run in the page) -------------------------------------------

BLOCKING_IMPACTS = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe().run(page).response["violations"]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"[{len(violation['nodes'])} element(s)]"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page, name: str) -> list[dict]:
    """No serious or critical axe violation; returns the lesser ones (for the report)."""
    violations = axe_violations(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe on {name} ({page.url}):\n{describe_violations(blocking)}"
    return violations
