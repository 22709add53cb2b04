"""Every page works with no internet and is built to be used by everyone: no resource or
link to another host (but the links people write inside a results story), the layout's
landmarks, one h1, a label for every field, unique ids, the language declared.

The pages of every role are crawled at every stage of a grant's life."""

import re
from datetime import date

import pytest
from django.contrib.staticfiles import finders

from grants.alerts import evaluate_fund_alerts
from grants.models import GrantStatus
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant, make_story
from tests.web.pages import page

pytestmark = pytest.mark.django_db

URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""", re.IGNORECASE)
# What people wrote (a story's body, its excerpt) is marked as such; links in it are
# theirs to make. Story bodies hold no <div> and excerpts no tag, so the first closing
# tag of the same name ends the content.
USER_CONTENT = re.compile(r"<(div|p)\b[^>]*\bdata-user-content\b[^>]*>.*?</\1>", re.S)
LABELLED_BY_WRAPPING = {"label"}


@pytest.fixture
def world(leader, leader2, fund_manager, donor, donor_partner):
    contribution = make_contribution(donor_partner, pledged_amount="400000.00")
    make_receipt(contribution, "200000.00")
    fund_with("340000.00")  # 540,000 in all: 40,000 left once the grants are approved
    grants = {
        status: make_grant(leader, status, manager=fund_manager, title=f"A {status} grant")
        for status in [
            GrantStatus.DRAFT,
            GrantStatus.SUBMITTED,
            GrantStatus.RETURNED,
            GrantStatus.APPROVED,
        ]
    }
    grants["overdue"] = make_grant(
        leader2,
        GrantStatus.APPROVED,
        manager=fund_manager,
        planned_start=date(2020, 1, 1),
        planned_end=date(2020, 2, 1),
    )
    grants["completed"] = finished_grant(leader, fund_manager, accept=False)
    grants["closed"] = finished_grant(
        leader, fund_manager, recipient_countries=["KEN"], region="AFR"
    )
    evaluate_fund_alerts()  # a low-balance alert on the manager's page
    story = make_story(
        fund_manager,
        grants["closed"],
        published=True,
        body="See [the ministry's site](https://example.org/ministry) and <http://example.com>.",
    )
    exchange = grants[GrantStatus.APPROVED].exchanges.create(
        instrument="workshop",
        title="Workshop",
        start_date=date(2026, 2, 1),
        end_date=date(2026, 2, 2),
    )
    return {"grants": grants, "story": story, "contribution": contribution, "exchange": exchange}


def _urls(world, role, donor_partner):
    g = {k: v.pk for k, v in world["grants"].items()}
    story = world["story"].slug
    common = ["/", "/hub/", f"/stories/{story}/", "/hub/?search=ministry", "/no-such-page/"]
    if role == "anonymous":
        return [*common, "/login/"]
    signed_in = [*common, "/grants/", "/grants/?status=approved", "/password/"]
    if role == "fund_manager":
        return [
            *signed_in,
            *(f"/grants/{g[k]}/" for k in ["submitted", "approved", "overdue", "completed"]),
            f"/grants/{g['closed']}/",
            f"/grants/{g['completed']}/report/",
            f"/grants/{g['closed']}/report/",
            f"/grants/{g['approved']}/exchanges/new/",
            "/partners/",
            f"/partners/{donor_partner.pk}/",
            "/partners/new/",
            f"/partners/{donor_partner.pk}/edit/",
            "/contributions/",
            f"/contributions/{world['contribution'].pk}/",
            "/contributions/new/",
            f"/contributions/{world['contribution'].pk}/edit/",
            "/dashboard/",
            f"/dashboard/?partner={donor_partner.pk}",
        ]
    if role == "leader":
        return [
            *signed_in,
            "/grants/new/",
            *(f"/grants/{g[k]}/" for k in ["draft", "returned", "approved", "completed"]),
            f"/grants/{g['draft']}/edit/",
            f"/grants/{g['returned']}/edit/",
            f"/grants/{g['approved']}/report/",
            f"/grants/{g['approved']}/exchanges/new/",
            f"/grants/{g['approved']}/exchanges/{world['exchange'].pk}/",
            "/dashboard/",  # a 403 page
        ]
    return [*signed_in, "/dashboard/", f"/grants/{g['closed']}/", f"/grants/{g['closed']}/report/"]


def _status(role, url) -> int:
    """What each page of the crawl answers: 200, but the page that does not exist and the
    donors' dashboard asked for by a leader (error pages are pages too)."""
    if url == "/no-such-page/":
        return 404
    if (role, url) == ("leader", "/dashboard/"):
        return 403
    return 200


def _check_page(url, response, status) -> None:
    assert response.status_code == status, (url, response.status_code)
    html = response.content.decode()
    root = page(response)

    # No resource and no link to another host, but the links inside a story's body.
    outside_user_content = USER_CONTENT.sub("", html)
    external = [u for u in URL.findall(outside_user_content) if "//testserver/" not in u]
    assert not external, (url, external)
    assert "@import" not in html and "url(" not in html, url

    # The layout's landmarks, the language, one h1, a skip link to <main>.
    html_tag = root.find("html")
    assert html_tag.attrs.get("lang"), url
    assert len(root.find_all("main")) == 1, url
    assert root.find("a", href="#main") is not None, url
    assert len(root.find_all("h1")) == 1, url
    assert root.find("header") is not None and root.find("footer") is not None, url

    # Ids are unique, and every field a person fills in has a label.
    ids = [node.attrs["id"] for node in root.iter() if "id" in node.attrs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, (url, duplicates)
    labels = {node.attrs.get("for") for node in root.find_all("label")}
    for node in root.iter():
        if node.tag not in ("input", "select", "textarea"):
            continue
        if node.attrs.get("type") in ("hidden", "submit", "button"):
            continue
        labelled = (
            node.attrs.get("id") in labels
            or node.attrs.get("aria-label")
            or node.attrs.get("aria-labelledby")
        )
        assert labelled, (url, node)

    # Every button says what it does; every data table has headers.
    for button in root.find_all("button"):
        assert button.text, (url, button)
    for table in root.find_all("table"):
        assert table.find("th") is not None, (url, table)


@pytest.mark.parametrize("role", ["fund_manager", "leader", "donor", "anonymous"])
def test_every_page_is_self_contained_and_accessible(web, world, role, donor_partner):
    client = web(role)
    for url in _urls(world, role, donor_partner):
        _check_page(url, client.get(url), _status(role, url))


def test_the_story_keeps_its_own_external_links(web, world):
    html = web().get(f"/stories/{world['story'].slug}/").content.decode()
    body = USER_CONTENT.search(html).group(0)
    assert 'href="https://example.org/ministry"' in body


def test_the_stylesheet_and_script_are_served_by_the_project(web, settings):
    settings.WHITENOISE_USE_FINDERS = True
    client = web()
    for path in ["seetf/site.css", "seetf/site.js", "seetf/favicon.svg"]:
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path
        content = b"".join(response.streaming_content).decode()
        assert "@import" not in content and "url(" not in content, path
        located = finders.find(path)
        assert located and located.startswith(str(settings.BASE_DIR)), path
        if path.endswith((".css", ".js")):
            assert not URL.findall(content.replace("//", "// ")), path
