"""Participant feedback in the browser: a task team leader opens a feedback link from
the grant page; a participant answers the form on a phone (390x844), without an
account; a second answer from that phone is refused politely; the leader sees the
aggregate on the grant page and on the completion report's page."""

import re

import pytest

from grants.models import ExchangeStatus, GrantStatus
from partners.roles import Role
from partners.services import user_create_or_update
from results.models import FeedbackAnswer
from tests.browser.conftest import PASSWORD, PHONE, assert_accessible
from tests.factories import fund_with
from tests.grants.factories import make_exchange, make_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def grant(transactional_db):
    fund_with("1000000.00")
    manager = user_create_or_update(username="amina", roles=[Role.FUND_MANAGER])
    leader = user_create_or_update(
        username="tomas", roles=[Role.TASK_TEAM_LEADER], password=PASSWORD
    )
    grant = make_grant(leader, GrantStatus.APPROVED, manager=manager, title="Safety nets")
    make_exchange(grant, manager, title="Study tour to Mexico City", status=ExchangeStatus.HELD)
    return grant


def no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a 390px phone"


def test_a_participant_answers_on_a_phone_and_the_leader_sees_it(grant, browser):
    # --- The leader opens a link from the grant page ------------------------------------
    leader = browser.window("tomas")
    page = leader.page
    leader.go(f"/grants/{grant.pk}/")
    assert "No participant has answered yet." in leader.text("feedback-panel")
    leader.click(page.get_by_test_id("open-feedback-link"))
    url = page.get_by_test_id("feedback-link-url").inner_text()
    assert re.search(r"/feedback/[A-Za-z0-9_-]{43,}/$", url), url

    # --- A participant answers on a phone, without an account --------------------------
    phone = browser.window(viewport=PHONE)
    form_page = phone.go(url)
    assert phone.text("feedback-exchange") == "Study tour to Mexico City"
    no_sideways_scroll(form_page)
    assert_accessible(form_page, "the feedback form on a phone")
    form = form_page.get_by_test_id("feedback-form")

    def rate(question, value):
        group = form.get_by_role("group", name=re.compile(question))
        group.get_by_label(str(value), exact=True).check()

    rate("How relevant", 5)
    rate("How useful", 4)
    rate("How far do you intend", 5)
    form.get_by_label(re.compile("Anything else")).fill("The visit to the registry office helped.")
    phone.click(form.get_by_test_id("feedback-submit"))
    assert "Your answer was recorded" in phone.text("feedback-thanks")
    answer = FeedbackAnswer.objects.get()
    assert (answer.relevance, answer.usefulness, answer.intention) == (5, 4, 5)

    # The same phone again: thanked, not asked twice; a resent form is refused politely.
    phone.go(url)
    assert "already answered" in phone.text("feedback-already")
    assert FeedbackAnswer.objects.count() == 1

    # --- The leader sees the aggregate ---------------------------------------------------
    leader.go(f"/grants/{grant.pk}/")
    total = leader.text("feedback-total")
    assert total.startswith("1 answer:"), total
    assert "relevance 5.0/5" in total and "usefulness 4.0/5" in total
    assert "100% intend to apply" in total
    row = leader.text("feedback-row")
    assert "Study tour to Mexico City" in row and "5.0" in row
    leader.go(f"/grants/{grant.pk}/report/")
    assert leader.text("feedback-total").startswith("1 answer:")
