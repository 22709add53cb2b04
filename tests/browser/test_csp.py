"""The Content-Security-Policy in a real browser (issue 14, point 8): the main pages of
each role, and the API docs (Swagger UI), run under the policy with no violation and no
console error. Every browser test watches for violations (conftest.Window: the page's
``securitypolicyviolation`` events and the reports the server logs); this one walks the
pages for that purpose, and shows that the watch does catch a violation."""

import pytest

from grants.models import Grant, GrantStatus
from partners.models import Contribution, Partner
from tests.browser.test_pages import world  # noqa: F401 - the fixture: the review's data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT_WAIT_MS = 5_000


def _pages_of_each_role(story) -> dict:
    approved = Grant.objects.filter(status=GrantStatus.APPROVED).order_by("pk").first()
    closed = Grant.objects.filter(status=GrantStatus.CLOSED).order_by("pk").first()
    draft = Grant.objects.filter(status=GrantStatus.DRAFT).order_by("pk").first()
    contribution = Contribution.objects.order_by("pk").first()
    denmark = Partner.objects.get(code="DNK")
    return {
        None: ["/hub/", f"/stories/{story.slug}/", "/login/"],
        "demo_manager": [
            "/",
            "/grants/",
            f"/grants/{approved.pk}/",
            f"/grants/{closed.pk}/report/",
            "/contributions/",
            f"/contributions/{contribution.pk}/",
            "/partners/",
            f"/partners/{denmark.pk}/",
            f"/dashboard/?partner={denmark.pk}",
        ],
        "demo_leader": [
            "/",
            "/grants/",
            "/grants/new/",
            f"/grants/{draft.pk}/edit/",
            f"/grants/{approved.pk}/",
            f"/grants/{approved.pk}/exchanges/new/",
        ],
        "demo_donor": ["/", "/dashboard/", "/grants/", "/hub/"],
    }


def test_the_main_pages_of_each_role_pass_the_policy(world, browser, csp_reports):  # noqa: F811
    for who, paths in _pages_of_each_role(world["story"]).items():
        window = browser.window(who)
        for path in paths:
            page = window.go(path)
            # The site's one script ran (it is allowed: 'self'), and no report went out.
            assert page.evaluate("document.readyState") == "complete"
        window.page.wait_for_timeout(300)  # a report in flight would land by now
        window.check()
    assert csp_reports.lines == []


def test_the_api_docs_run_swagger_ui_under_the_policy(world, browser, csp_reports):  # noqa: F811
    window = browser.window("demo_manager")
    page = window.go("/api/docs/")
    # Swagger UI drew the schema's operations: its scripts ran and read /api/schema/.
    page.wait_for_selector(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 20
    page.wait_for_timeout(300)
    window.check()
    assert csp_reports.lines == []


def test_the_watch_catches_a_violation_in_the_page_and_in_the_reports(world, browser, csp_reports):  # noqa: F811
    window = browser.window()
    page = window.go("/hub/")
    # What a template with an inline script or style attribute would do.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        " document.body.appendChild(s);"
        " document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>'); }"
    )
    assert page.evaluate("window.x") is None, "the inline script ran: no policy"
    for _ in range(REPORT_WAIT_MS // 100):
        if len(csp_reports.lines) >= 2:
            break
        page.wait_for_timeout(100)
    assert any("CSP violation: script-src-elem" in error for error in window.errors)
    assert any("CSP violation: style-src-attr" in error for error in window.errors)
    assert any("directive='script-src-elem'" in line for line in csp_reports.lines)
    assert any("directive='style-src-attr'" in line for line in csp_reports.lines)
    with pytest.raises(AssertionError, match="CSP violation"):
        window.check()
    window.errors.clear()  # this test's own provocations, not the page's
    csp_reports.lines.clear()
