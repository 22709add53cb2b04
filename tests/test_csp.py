"""The Content-Security-Policy (issue 14, point 8): every HTML page carries it, no page or
template has an inline script, an inline event handler or a style attribute (which the
policy would block), and the report endpoint logs each violation a browser sends, in one
line, at a bounded rate.

Two nets, so that pages and templates added later are checked too: every template of the
project's own folders is scanned, and every page each role reaches by following the
links from the home page (and the error pages, the login page and the API docs) is
fetched, its header read and its HTML scanned the same way."""

import json
import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings

from tests.api_walk import one_of_each

ROOT = Path(settings.BASE_DIR).resolve()
EXPECTED_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "report-uri": "/csp-report/",
}
# Scripts of these types are data the page reads, not code: the policy lets them be.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}
# E-mails are read in mail clients, which need inline styles and see no CSP.
NOT_PAGES = {"email"}
CRAWL_LIMIT = 80  # pages per role
ROLES = [None, "fund_manager", "task_team_leader", "donor"]


def policy_of(response) -> dict[str, str]:
    header = response.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = " ".join(value.split())
    return directives


# --- Finding what the policy blocks -----------------------------------------------------


class _InlineFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>: an inline event handler")
            elif name == "style":
                self.problems.append(f"<{tag} style=...>: a style attribute")
            elif name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>: a javascript: URL")
        if tag == "style":
            self.problems.append("<style>: an inline stylesheet")
        if tag == "script":
            kind = (attributes.get("type") or "").strip().lower()
            self._inline_script = "src" not in attributes and kind not in DATA_SCRIPT_TYPES

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._inline_script = False

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline_script = False

    def handle_data(self, data):
        if self._inline_script and data.strip():
            self.problems.append(f"<script>{data.strip()[:60]}...: an inline script")
            self._inline_script = False


def blocked_by_the_policy(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


COMMENT = re.compile(r"{%\s*comment\b.*?%}.*?{%\s*endcomment\s*%}|{#.*?#}", re.S)
TAG = re.compile(r"{%.*?%}", re.S)
VARIABLE = re.compile(r"{{.*?}}", re.S)


def template_blocked_by_the_policy(source: str) -> list[str]:
    """A template's source read as HTML: comments dropped, template tags removed (so
    that `{% include ... with style=x %}` is no attribute), variables a placeholder."""
    text = COMMENT.sub("", source)
    text = TAG.sub("", text)
    text = VARIABLE.sub("x", text)
    return blocked_by_the_policy(text)


def project_templates() -> list[Path]:
    """Every template of the project's own folders (TEMPLATES DIRS and the project's
    apps, not the installed packages'), e-mails aside."""
    folders = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    for app in apps.get_app_configs():
        path = Path(app.path).resolve()
        if path.is_relative_to(ROOT) and ".venv" not in path.relative_to(ROOT).parts:
            folders.append(path / "templates")
    found = []
    for folder in folders:
        for template in sorted(folder.rglob("*.html")):
            if NOT_PAGES.isdisjoint(template.relative_to(folder).parts):
                found.append(template)
    return found


def test_the_scan_finds_what_the_policy_blocks():
    assert template_blocked_by_the_policy("<script>alert(1)</script>")
    assert template_blocked_by_the_policy('<button onclick="go()">')
    assert template_blocked_by_the_policy('<p style="color: red">')
    assert template_blocked_by_the_policy("<style>p {}</style>")
    assert template_blocked_by_the_policy('<a href="javascript:go()">')
    assert template_blocked_by_the_policy('<div {% if x %}onload="{{ y }}"{% endif %}>')
    assert not template_blocked_by_the_policy('<script src="{% static "x.js" %}" defer></script>')
    assert not template_blocked_by_the_policy('<script type="application/json">{"a":1}</script>')
    assert not template_blocked_by_the_policy('{% include "a.html" with style=offer.style %}')
    assert not template_blocked_by_the_policy("{# <p style='x'> #}<rect fill=\"#123\">")
    assert not template_blocked_by_the_policy('<a href="/x" data-onclick="no">')


def test_the_project_has_templates_to_scan():
    names = {path.name for path in project_templates()}
    assert {"base.html", "grant_detail.html", "dashboard.html", "login.html"} <= names


@pytest.mark.parametrize(
    "template", project_templates(), ids=lambda path: str(path.relative_to(ROOT))
)
def test_no_template_has_an_inline_script_handler_or_style(template):
    assert template_blocked_by_the_policy(template.read_text()) == []


# --- The header on every page ---------------------------------------------------------------


LINK = re.compile(r"""<a\b[^>]*\bhref="([^"#]*)""", re.I)


def _shape(path: str) -> str:
    """A page's kind: /grants/12/ and /grants/13/ are one page to check."""
    return re.sub(r"/\d+(?=/|$)", "/N", path)


def crawl(client, start: list[str]) -> dict[str, object]:
    """Every page reachable from ``start`` by following links (one of each kind), as
    this client: the path and its response."""
    seen_shapes: set[str] = set()
    queue = list(start)
    pages = {}
    while queue and len(pages) < CRAWL_LIMIT:
        url = queue.pop(0)
        split = urlsplit(url)
        if split.netloc not in ("", "testserver") or not split.path.startswith("/"):
            continue
        path = split.path + (f"?{split.query}" if split.query else "")
        shape = _shape(split.path) + ("?" if split.query else "")
        if shape in seen_shapes or split.path.startswith(("/admin/", "/api/v1/", "/logout")):
            continue
        seen_shapes.add(shape)
        response = client.get(path)
        pages[path] = response
        if "text/html" in response.get("Content-Type", ""):
            queue += [href.replace("&amp;", "&") for href in LINK.findall(response.text)]
    return pages


@pytest.fixture
def portfolio(fund_manager, leader, donor):
    return one_of_each(fund_manager, leader)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ROLES, ids=lambda who: who or "anonymous")
def test_every_page_a_role_reaches_carries_the_policy_and_nothing_it_blocks(
    web, portfolio, who, settings
):
    settings.WHITENOISE_USE_FINDERS = False  # no static-file scan per client (slow)
    client = web(who)
    start = ["/", "/hub/", "/login/", "/no-such-page/", "/api/docs/"]
    pages = crawl(client, start)
    html_pages = {
        path: response
        for path, response in pages.items()
        if "text/html" in response.get("Content-Type", "")
    }
    assert len(html_pages) >= (3 if who is None else 6), sorted(pages)
    for path, response in html_pages.items():
        assert policy_of(response) == EXPECTED_POLICY, (
            f"{path}: {response.get('Content-Security-Policy')}"
        )
        body = response.content.decode()
        assert blocked_by_the_policy(body) == [], path
    # The API's JSON answers carry it too (a browser opening one gets the same rules).
    assert policy_of(client.get("/api/v1/results-stories/")) == EXPECTED_POLICY


@pytest.mark.django_db
def test_the_error_pages_carry_the_policy_in_debug_too(client, settings):
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert policy_of(response) == EXPECTED_POLICY


def test_the_api_docs_start_swagger_ui_from_a_file(client):
    """Swagger UI's start-up script and its page style are files of their own, so the
    docs page needs no relaxed policy."""
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert policy_of(page) == EXPECTED_POLICY
    assert blocked_by_the_policy(page.content.decode()) == []
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


@pytest.mark.django_db
def test_the_browsable_api_allows_inline_styles_and_no_inline_script(web, fund_manager):
    """DRF's browsable API (not in production) has inline styles in its templates: its
    pages alone allow them; its scripts are files, as everywhere."""
    response = web(fund_manager).get("/api/v1/countries/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert policy_of(response) == {**EXPECTED_POLICY, "style-src": "'self' 'unsafe-inline'"}
    problems = blocked_by_the_policy(response.content.decode())
    assert problems and all("style" in problem for problem in problems), problems


# --- The report endpoint -------------------------------------------------------------------

REPORT = {
    "csp-report": {
        "document-uri": "http://testserver/grants/",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "blocked-uri": "inline",
        "line-number": 12,
        "script-sample": "alert(1)",
    }
}


@pytest.fixture
def csp_log(caplog):
    caplog.set_level(logging.WARNING, logger="seetf.csp")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "seetf.csp"]


def test_a_report_is_logged_in_one_line(client, csp_log):
    response = client.post(
        "/csp-report/", json.dumps(REPORT), content_type="application/csp-report"
    )
    assert response.status_code == 204
    (line,) = csp_log()
    assert "\n" not in line
    assert "directive='script-src-elem'" in line
    assert "blocked='inline'" in line
    assert "page='http://testserver/grants/'" in line


def test_a_reporting_api_report_is_logged_too(client, csp_log):
    body = [
        {"type": "csp-violation", "body": {"effectiveDirective": "style-src-attr",
                                           "blockedURL": "inline",
                                           "documentURL": "http://testserver/"}},
        {"type": "deprecation", "body": {"id": "x"}},
    ]  # fmt: skip
    response = client.post(
        "/csp-report/", json.dumps(body), content_type="application/reports+json"
    )
    assert response.status_code == 204
    assert csp_log() == [
        "CSP violation: directive='style-src-attr' blocked='inline' page='http://testserver/'"
    ]


def test_the_log_is_rate_limited(client, csp_log, settings):
    settings.CSP_REPORTS_LOGGED_PER_MINUTE = 3
    for _ in range(10):
        response = client.post(
            "/csp-report/", json.dumps(REPORT), content_type="application/csp-report"
        )
        assert response.status_code == 204
    assert len(csp_log()) == 3


@pytest.mark.parametrize(
    "body, status",
    [("not json", 400), ('{"a": 1}', 400), ("[" * 5000, 400), ("{}" + " " * 70_000, 413)],
)
def test_what_is_not_a_report_is_refused_and_not_logged(client, csp_log, body, status):
    response = client.post("/csp-report/", body, content_type="application/csp-report")
    assert response.status_code == status
    assert csp_log() == []


def test_the_report_endpoint_takes_only_posts(client):
    assert client.get("/csp-report/").status_code == 405
