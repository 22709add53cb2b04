"""After the exchange in a real browser (issue 19): the leader writes the completion
report with a follow-up need and submits it; proposes a follow-on for that need from the
report's page, which makes a draft linked to the grant (its chain shows the parent) and
submits it; a fund manager approves the follow-on; the need is then shown financed by it,
on the report's page, and the parent's page shows its follow-on. Then on a phone."""

import re

import pytest

from grants.models import Grant, GrantStatus
from partners.roles import Role
from partners.services import user_create_or_update
from results.models import FollowUpNeed
from tests.browser.conftest import PASSWORD, label
from tests.factories import make_contribution, make_country_partner, make_receipt
from tests.grants.factories import make_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def people(transactional_db):
    def user(username, role):
        return user_create_or_update(
            username=username, roles=[role], password=PASSWORD, email=f"{username}@example.org"
        )

    denmark = make_country_partner("DNK")
    make_receipt(make_contribution(denmark, pledged_amount="600000.00"), "500000.00")
    manager = user("amina", Role.FUND_MANAGER)
    leader = user("tomas", Role.TASK_TEAM_LEADER)
    grant = make_grant(leader, GrantStatus.APPROVED, manager=manager, title="Haiti's zones")
    return {"grant": grant}


def test_a_need_from_the_report_is_financed_by_its_approved_follow_on(people, browser):
    grant = people["grant"]

    # --- The leader writes the report with a need and submits it ---------------------
    leader = browser.window("tomas")
    page = leader.go(f"/grants/{grant.pk}/report/")
    form = page.get_by_test_id("report-form")
    form.get_by_label(label("Raised awareness")).check()
    form.get_by_label(label("Participants")).fill("18")
    form.get_by_label(label("Rating of the results")).select_option(label="Satisfactory")
    row = form.get_by_test_id("follow-up-need-row").first
    row.get_by_label(label("Kind of follow-up")).select_option(label="Implementation financing")
    row.get_by_label(label("What is needed")).fill("Finance the first special economic zone.")
    row.get_by_label(label("Estimated cost (USD)")).fill("2500000.00")
    leader.click(form.get_by_test_id("report-submit"))
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "completed"
    (need,) = FollowUpNeed.objects.all()
    assert need.estimated_usd == 2500000

    # --- ...proposes a follow-on for it from the report's page, and submits it --------
    leader.go(f"/grants/{grant.pk}/report/")
    need_row = page.locator(f'[data-testid="need-row"][data-need="{need.pk}"]')
    assert need_row.get_attribute("data-status") == "open"
    leader.click(page.get_by_test_id("propose-follow-on").get_by_role("button"))
    follow_on = Grant.objects.get(parent=grant)
    assert page.url.endswith(f"/grants/{follow_on.pk}/")
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "draft"
    assert grant.reference in leader.text("grant-chain")
    assert leader.text("grant-title") == "Follow-on: Haiti's zones"
    leader.click(page.get_by_test_id("submit-form").get_by_role("button"))
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "submitted"

    # --- A fund manager approves it ------------------------------------------------------
    fm = browser.window("amina")
    fm.go(f"/grants/{follow_on.pk}/")
    approve = fm.page.get_by_test_id("approve-form")
    approve.get_by_label(label("Amount approved (USD)")).fill("100000.00")
    fm.click(approve.get_by_role("button", name="Approve"))
    assert fm.page.get_by_test_id("grant-status").get_attribute("data-status") == "approved"

    # --- The need is shown financed by it; the parent's page shows its follow-on -------
    follow_on.refresh_from_db()
    fm.go(f"/grants/{grant.pk}/report/")
    need_row = fm.page.locator(f'[data-testid="need-row"][data-need="{need.pk}"]')
    assert need_row.get_attribute("data-status") == "financed"
    status = " ".join(need_row.get_by_test_id("need-status").inner_text().split())
    assert status == f"Financed by follow-on grant {follow_on.reference}"
    fm.go(f"/grants/{grant.pk}/")
    descendant = fm.page.get_by_test_id("chain-descendant")
    assert follow_on.reference in descendant.inner_text()
    fm.click(descendant.get_by_role("link", name=follow_on.reference))
    assert fm.page.url.endswith(f"/grants/{follow_on.pk}/")

    # --- The leader sees the same on a phone, nothing wider than the screen ------------
    phone = browser.window("tomas", viewport=PHONE)
    phone.go(f"/grants/{grant.pk}/report/")
    assert re.search(follow_on.reference, phone.page.get_by_test_id("follow-up-needs").inner_text())
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
