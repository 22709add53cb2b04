"""Brokering in the browser, the whole path: a task team leader enters a country's
request for an exchange, accepts its best suggestion (a draft grant filled from the
request and the offer), submits the draft; a fund manager approves it; the offer's
capacity of the year is one less in the public catalogue."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from brokering.models import ExchangeRequest, Match
from grants.models import Grant
from partners.roles import Role
from partners.services import user_create_or_update
from tests.brokering.factories import make_offer
from tests.browser.conftest import PASSWORD, label
from tests.factories import make_contribution, make_country_partner, make_receipt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def market(transactional_db):
    def user(username, role):
        return user_create_or_update(
            username=username, roles=[role], password=PASSWORD, email=f"{username}@example.org"
        )

    denmark = make_country_partner("DNK")
    make_receipt(make_contribution(denmark, pledged_amount="200000.00"), "150000.00")
    manager = user("amina", Role.FUND_MANAGER)
    user("tomas", Role.TASK_TEAM_LEADER)
    best = make_offer(
        manager,
        title="Nicaragua's social registry",
        provider_country="NIC",
        capacity_per_year=2,
        description="How Nicaragua's ministry built one registry of poor households.",
    )
    other = make_offer(
        manager,
        title="Kenya's employment schemes",
        provider_country="KEN",
        sectors=["16020"],
        languages=["en"],
        instruments=["workshop"],
    )
    return {"best": best, "other": other}


def test_a_request_becomes_an_approved_grant(market, browser):
    best = market["best"]

    # --- The leader enters the request ------------------------------------------------
    leader = browser.window("tomas")
    page = leader.page
    leader.go("/requests/")
    leader.click(page.get_by_role("link", name="Request an exchange"))
    form = page.get_by_test_id("request-form")
    form.get_by_label(label("Title")).fill("Cash transfers for Honduras")
    form.get_by_label(label("Recipient country")).select_option(label="Honduras (HND)")
    form.get_by_label(label("The knowledge gap")).fill(
        "Honduras wants to learn how to **target** its cash transfers."
    )
    form.get_by_label(label("Sectors")).select_option(label="16010 Social Protection")
    form.get_by_label(label("Study tour")).check()
    form.get_by_label(label("Languages")).fill("es, en")
    needed_by = timezone.localdate() + timedelta(days=120)
    form.get_by_label(label("Needed by")).fill(needed_by.isoformat())
    leader.click(form.get_by_role("button", name="Save and see suggestions"))
    request = ExchangeRequest.objects.get()
    assert page.url.endswith(f"/requests/{request.pk}/")

    # --- Its suggestions, best first; the leader accepts the best -----------------------
    suggestions = page.get_by_test_id("suggestion")
    assert suggestions.count() == 2
    first = suggestions.first
    assert first.get_attribute("data-offer") == str(best.pk)
    assert "same DAC purpose code 16010" in first.inner_text()
    leader.click(first.get_by_test_id("accept-suggestion"))
    grant = Grant.objects.get()
    assert page.url.endswith(f"/grants/{grant.pk}/")
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "draft"
    assert grant.task_team_leader.username == "tomas"
    assert [c.code for c in grant.provider_countries.all()] == ["NIC"]
    assert page.get_by_test_id("exchange-row").count() == 1  # the study tour both want

    # --- The leader submits the draft ---------------------------------------------------
    leader.click(page.get_by_test_id("submit-form").get_by_role("button"))
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "submitted"

    # --- The fund manager sees the open requests (none left) and approves ---------------
    fm = browser.window("amina")
    fm.go("/requests/")
    assert "No open request." in fm.page.inner_text("main")
    fm.go(f"/grants/{grant.pk}/")
    approve = fm.page.get_by_test_id("approve-form")
    approve.get_by_label(label("Amount approved (USD)")).fill("100000.00")
    fm.click(approve.get_by_role("button", name="Approve"))
    assert fm.page.get_by_test_id("grant-status").get_attribute("data-status") == "approved"
    grant.refresh_from_db()
    assert grant.approved_usd == Decimal("100000.00")

    # --- The offer's capacity of the year is one less, in the public catalogue ----------
    visitor = browser.window()
    visitor.go("/offers/")
    card = visitor.page.locator(f'[data-testid="offer-card"][data-offer="{best.pk}"]')
    capacity = " ".join(card.get_by_test_id("offer-capacity").inner_text().split())
    assert capacity == "1 of 2 exchanges left this year"
    assert card.get_by_test_id("offer-contact").count() == 0  # no contacts for visitors
    assert Match.objects.get().offer == best
