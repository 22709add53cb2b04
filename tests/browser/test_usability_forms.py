"""Issue 13 in a real browser, on a laptop (1366x900) and a phone (390x844): every error
of a form at once with a summary that links to each field, a country picker used by
typing, a disbursement dated tomorrow refused beside its date, a completion report sent
back for revision, the changes since a return shown after the resubmission, and the
funding alert raised by the submission that takes the pipeline past the money."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from grants import services as grant_services
from grants.models import Grant, GrantStatus
from partners.models import AlertKind, FundAlert
from partners.roles import Role
from partners.services import user_create_or_update
from results import services as result_services
from results.models import CompletionReport
from tests.browser.conftest import PASSWORD, PHONE, label
from tests.factories import fund_with
from tests.grants.factories import make_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 900}
SIZES = [pytest.param(LAPTOP, id="laptop"), pytest.param(PHONE, id="phone")]


@pytest.fixture
def people(transactional_db):
    def user(username, role):
        return user_create_or_update(
            username=username, roles=[role], password=PASSWORD, email=f"{username}@example.org"
        )

    return {"fm": user("amina", Role.FUND_MANAGER), "leader": user("tomas", Role.TASK_TEAM_LEADER)}


def no_overflow(page) -> None:
    """Nothing runs off the side of the viewport (the phone's 390 px included)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
        ".right > w + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + "
        "e.getBoundingClientRect().right)",
        page.viewport_size["width"],
    )
    assert width <= page.viewport_size["width"], f"{page.url}: {width} px wide: {wide}"


@pytest.mark.parametrize("viewport", SIZES)
def test_every_error_at_once_with_a_summary_and_a_picker_used_by_typing(people, browser, viewport):
    leader = browser.window("tomas", viewport=viewport)
    page = leader.go("/grants/new/")
    form = page.get_by_test_id("proposal-form")
    # The limit is said before it bites, and counted as one types.
    assert "200 characters at most." in form.inner_text()
    form.get_by_label(label("Title")).fill("x" * 250)
    assert form.get_by_test_id("counter").first.inner_text() == "250 / 200"
    # The picker: typing narrows the 249 countries; Enter chooses the first match.
    search = page.locator("#id_recipient_countries_search")
    search.fill("hondu")
    shown = page.locator("#id_recipient_countries option:not([hidden])").all_inner_texts()
    assert shown == ["Honduras (HND)"]
    search.press("Enter")
    assert "Honduras (HND)" in page.get_by_test_id("picker-chosen").first.inner_text()
    # An end before the start and a title too long: both in the first round.
    form.get_by_label(label("Planned start")).fill("2027-06-30")
    form.get_by_label(label("Planned end")).fill("2027-01-10")
    form.get_by_label(label("Requested amount (USD)")).fill("50000")
    leader.click(form.get_by_test_id("save-draft"))
    summary = page.get_by_test_id("error-summary")
    text = " ".join(summary.inner_text().split())
    assert "Title: Ensure this value has at most 200 characters (it has 250)." in text
    assert "Planned end: The planned end cannot be before the planned start." in text
    links = summary.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert {"#id_title", "#id_planned_end"} <= set(links)
    # What was typed is kept, the long title too (never cut).
    assert (
        len(page.get_by_test_id("proposal-form").get_by_label(label("Title")).input_value()) == 250
    )
    # The link takes the reader to the field.
    summary.get_by_role("link", name="Planned end: The planned end").click()
    assert page.evaluate("location.hash") == "#id_planned_end"
    no_overflow(page)
    assert not Grant.objects.exists()


@pytest.mark.parametrize("viewport", SIZES)
def test_a_draft_is_saved_with_only_a_title(people, browser, viewport):
    leader = browser.window("tomas", viewport=viewport)
    page = leader.go("/grants/new/")
    form = page.get_by_test_id("proposal-form")
    assert "Needed to submit." in form.inner_text()
    form.get_by_label(label("Title")).fill("Cash transfers: half written")
    leader.click(form.get_by_test_id("save-draft"))
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "draft"
    assert leader.text("grant-title") == "Cash transfers: half written"
    # The page says what the submission still needs.
    notice = leader.text("window-notice")
    assert "not complete" in notice and "requested_usd" in notice
    # Submitting from the form names every missing field at once, beside each.
    leader.click(page.get_by_test_id("edit-proposal"))
    leader.click(page.get_by_test_id("save-submit"))
    summary = " ".join(page.get_by_test_id("error-summary").inner_text().split())
    for text in (
        "Choose the sector.",
        "Name at least one recipient country.",
        "Give the amount requested.",
    ):
        assert text in summary, summary
    grant = Grant.objects.get()
    assert grant.status == GrantStatus.DRAFT and grant.requested_usd is None
    no_overflow(page)


@pytest.mark.parametrize("viewport", SIZES)
def test_exchange_rows_are_added_with_and_without_the_script(people, browser, viewport):
    leader = browser.window("tomas", viewport=viewport)
    page = leader.go("/grants/new/")
    rows = page.get_by_test_id("planned-exchange")
    assert rows.count() == 2
    page.get_by_test_id("add-row").click()
    assert rows.count() == 3
    assert page.locator("input[name='exchanges-TOTAL_FORMS']").input_value() == "3"
    page.get_by_test_id("remove-row").click()
    assert rows.count() == 2
    # Without the script the server's button is the way (hidden while the script runs).
    assert page.get_by_test_id("add-exchange-row").is_hidden()


@pytest.mark.parametrize("viewport", SIZES)
def test_a_disbursement_dated_tomorrow_is_refused_beside_its_date(people, browser, viewport):
    fund_with("500000.00")
    grant = make_grant(people["leader"], GrantStatus.APPROVED, manager=people["fm"])
    fm = browser.window("amina", viewport=viewport)
    page = fm.go(f"/grants/{grant.pk}/")
    form = page.get_by_test_id("disbursement-form")
    form.get_by_label(label("Amount (USD)")).fill("1000")
    tomorrow = timezone.localdate() + timedelta(days=1)
    form.get_by_label(label("Disbursed on")).fill(tomorrow.isoformat())
    fm.click(form.get_by_role("button", name="Record the disbursement"))
    form = page.get_by_test_id("disbursement-form")
    assert "cannot be dated in the future" in form.locator(".field--error").inner_text()
    assert "Disbursed on:" in form.get_by_test_id("error-summary").inner_text()
    assert not grant.disbursements.exists()
    no_overflow(page)


@pytest.mark.parametrize("viewport", SIZES)
def test_a_fund_manager_returns_a_completion_report(people, browser, viewport):
    fund_with("500000.00")
    grant = make_grant(people["leader"], GrantStatus.COMPLETED, manager=people["fm"])
    fm = browser.window("amina", viewport=viewport)
    page = fm.go(f"/grants/{grant.pk}/report/")
    form = page.get_by_test_id("return-report-form")
    fm.click(form.get_by_role("button", name="Return to the leader"))  # no comment
    assert "This field is required." in page.get_by_test_id("return-report-form").inner_text()
    comment = "Say how many officials of the ministry took part."
    page.get_by_test_id("return-report-form").get_by_label(label("What to revise")).fill(comment)
    fm.click(
        page.get_by_test_id("return-report-form").get_by_role("button", name="Return to the leader")
    )
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "approved"
    assert CompletionReport.objects.get(grant=grant).submitted_at is None
    leader = browser.window("tomas", viewport=viewport)
    page = leader.go(f"/grants/{grant.pk}/report/")
    assert leader.text("report-return-comment") == comment
    assert page.get_by_test_id("report-form").is_visible()
    no_overflow(page)


@pytest.mark.parametrize("viewport", SIZES)
def test_the_changes_since_the_return_are_shown_after_the_resubmission(people, browser, viewport):
    fund_with("500000.00")
    leader, fm_user = people["leader"], people["fm"]
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    grant_services.grant_transition(
        grant=grant, user=fm_user, action="return", comment="Ask for less."
    )
    grant_services.grant_update(grant=grant, user=leader, requested_usd=Decimal("80000.00"))
    grant_services.grant_transition(grant=grant, user=leader, action="submit")
    fm = browser.window("amina", viewport=viewport)
    page = fm.go(f"/grants/{grant.pk}/")
    changed = page.get_by_test_id("changed-since-return")
    text = " ".join(changed.inner_text().split())
    assert "Requested usd 100000.00 80000.00" in text, text
    edit = page.get_by_test_id("history").locator("[data-since-return='true']")
    assert edit.count() == 1
    # The page reads first and decides second: the decision panel comes after the history.
    order = page.evaluate(
        "['history', 'decisions'].map(id => document.querySelector(`[data-testid=${id}]`)"
        ".getBoundingClientRect().top)"
    )
    assert order[0] < order[1]
    # Rejecting asks for a confirmation first (a closed <details>).
    assert page.get_by_test_id("reject-form").is_hidden()
    page.get_by_test_id("reject-details").locator("summary").click()
    assert (
        page.get_by_test_id("reject-form")
        .get_by_label(label("I confirm: this cannot be undone."))
        .is_visible()
    )
    no_overflow(page)


@pytest.mark.parametrize("viewport", SIZES)
def test_the_submission_that_passes_the_money_raises_the_alert(people, browser, viewport):
    fund_with("300000.00")
    grant = make_grant(people["leader"], GrantStatus.DRAFT, requested_usd=Decimal("400000.00"))
    leader = browser.window("tomas", viewport=viewport)
    page = leader.go(f"/grants/{grant.pk}/")
    leader.click(
        page.get_by_test_id("submit-form").get_by_role("button", name="Submit to the fund")
    )
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "submitted"
    assert FundAlert.objects.filter(
        kind=AlertKind.PIPELINE_EXCEEDS_BALANCE, resolved_at__isnull=True
    ).exists()
    fm = browser.window("amina", viewport=viewport)
    fm.go("/")
    kinds = fm.page.get_by_test_id("alert").evaluate_all(
        "items => items.map(li => li.dataset.kind)"
    )
    assert AlertKind.PIPELINE_EXCEEDS_BALANCE in kinds
    no_overflow(fm.page)


def test_the_report_starts_from_the_held_exchanges(people, browser):
    """A new completion report: participants from the held exchanges, the outcomes the
    proposal targeted shown and ticked."""
    fund_with("500000.00")
    leader, fm_user = people["leader"], people["fm"]
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fm_user)
    for participants in (12, 30):
        grant_services.exchange_create(
            grant=grant,
            user=fm_user,
            instrument="workshop",
            title=f"Workshop of {participants}",
            start_date=timezone.localdate() - timedelta(days=40),
            end_date=timezone.localdate() - timedelta(days=39),
            participants=participants,
            status="held",
        )
    window = browser.window("tomas", viewport=LAPTOP)
    page = window.go(f"/grants/{grant.pk}/report/")
    assert (
        page.get_by_test_id("report-form").get_by_label(label("Participants")).input_value() == "42"
    )
    assert "Raised awareness" in window.text("targeted-outcomes")
    assert not result_services.CompletionReport.objects.filter(grant=grant).exists()
