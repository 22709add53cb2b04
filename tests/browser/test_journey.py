"""The whole path of a grant, driven only through the pages in a real browser, by the
people who live it, each in their own window (their own cookies, logged in through the
login form):

a task team leader drafts, edits and submits a proposal; a fund manager returns it with
a comment; the leader reads the comment, revises and resubmits; the fund manager is
refused an approval the fund cannot pay (the page says why and nothing changes), then
approves less than requested and sees the available money drop by exactly that amount;
the leader records the exchange and writes and submits the completion report; the fund
manager accepts it and closes the grant; the donor's dashboard shows the closed grant
and counts its outcomes; an anonymous visitor finds the grant's published results story
by searching the knowledge hub and opens it.

No page may send a request off this machine or log a console error (conftest.Window).
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from grants.models import Grant
from partners.roles import Role
from partners.services import user_create_or_update
from results import services as result_services
from tests.browser.conftest import PASSWORD, label
from tests.factories import make_contribution, make_country_partner, make_receipt
from tests.results.factories import finished_grant, make_story

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUTCOMES = [
    "raised_awareness",
    "enhanced_knowledge_and_skills",
    "improved_consensus_and_teamwork",
    "strengthened_coalitions",
    "enhanced_networks",
    "increased_implementation_knowhow",
]
STORY_TITLE = "Honduras sharpens the targeting of its cash transfers"


def money(text: str) -> Decimal:
    """A figure as the pages print it ("150,000.00") as a Decimal."""
    return Decimal(text.replace(",", "").replace("USD", "").strip())


def grant_id(page) -> int:
    match = re.search(r"/grants/(\d+)/", page.url)
    assert match, page.url
    return int(match.group(1))


def outcome_totals(window) -> dict[str, int]:
    """The donor dashboard's "Grants achieving it" row, by outcome."""
    cells = window.page.get_by_test_id("table-outcomes").get_by_test_id("outcome-total")
    return dict(zip(OUTCOMES, (int(t) for t in cells.all_inner_texts()), strict=True))


@pytest.fixture
def people(transactional_db):
    """Made before the browser starts: a fund manager, a task team leader, a donor of
    Denmark, the fund's money, and an earlier grant with its published story."""

    def user(username, role, partner=None):
        return user_create_or_update(
            username=username,
            roles=[role],
            partner=partner,
            password=PASSWORD,
            email=f"{username}@example.org",
        )

    # The fund holds Denmark's 150,000 USD received (of 200,000 pledged).
    denmark = make_country_partner("DNK")
    make_receipt(make_contribution(denmark, pledged_amount="200000.00"), "150000.00")
    manager = user("amina", Role.FUND_MANAGER)
    user("tomas", Role.TASK_TEAM_LEADER)
    user("dk_donor", Role.DONOR, partner=denmark)
    # An earlier grant, closed with its story published: the hub has another story
    # (the search must pick the right one) and the dashboard counts it already.
    earlier = finished_grant(
        user("lucia", Role.TASK_TEAM_LEADER),
        manager,
        title="Kenya's geothermal regulators learn from Indonesia",
        region="AFR",
        recipient_countries=["KEN"],
        provider_countries=[],
        outcomes=["raised_awareness", "enhanced_networks"],
    )
    make_story(
        manager,
        earlier,
        published=True,
        title="Geothermal licensing, learned from peers",
        body="Kenya's regulators visited Indonesia's geothermal fields and rewrote a licence.",
    )
    return {"manager": manager}


def test_a_grant_from_draft_to_published_story(people, browser):
    manager = people["manager"]

    # --- The donor looks at the dashboard before (what it counts already) ------------
    donor = browser.window("dk_donor")
    donor.click(donor.page.get_by_role("link", name="Open the contribution dashboard"))
    assert donor.text("dashboard-partner") == "Denmark"
    totals_before = outcome_totals(donor)

    # --- The leader drafts a proposal -------------------------------------------------
    leader = browser.window("tomas")
    page = leader.page
    leader.click(page.get_by_test_id("new-proposal"))
    assert page.get_by_role("heading", level=1).inner_text() == "New proposal"
    form = page.get_by_test_id("proposal-form")
    form.get_by_label(label("Title")).fill("Peer learning on cash transfers")
    form.get_by_label(label("Summary")).fill(
        "Officials from Honduras learn from Mexico's programme."
    )
    form.get_by_label(label("Raised awareness")).check()
    form.get_by_label(label("Enhanced knowledge and skills")).check()
    form.get_by_label(label("Sector")).select_option(label="16010 Social Protection")
    form.get_by_label(label("Region")).select_option(label="Latin America and the Caribbean")
    form.get_by_label(label("Recipient countries")).select_option(label="Honduras (HND)")
    form.get_by_label(label("Provider countries")).select_option(label="Mexico (MEX)")
    form.get_by_label(label("Planned start")).fill("2027-01-10")
    form.get_by_label(label("Planned end")).fill("2027-06-30")
    form.get_by_label(label("Requested amount (USD)")).fill("200000.00")
    leader.click(form.get_by_test_id("save-draft"))
    pk = grant_id(page)
    assert page.url.endswith(f"/grants/{pk}/")
    assert leader.text("flash-success") == "The draft was saved."
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "draft"
    assert leader.text("grant-requested") == "200,000.00"

    # ...edits it: the form shows what was saved...
    leader.click(page.get_by_test_id("edit-proposal"))
    title = page.get_by_test_id("proposal-form").get_by_label(label("Title"))
    assert title.input_value() == "Peer learning on cash transfers"
    assert page.get_by_label(label("Recipient countries")).evaluate(
        "select => [...select.selectedOptions].map(o => o.text)"
    ) == ["Honduras (HND)"]
    title.fill("Peer learning on conditional cash transfers")
    leader.click(page.get_by_test_id("save-draft"))
    assert leader.text("grant-title") == "Peer learning on conditional cash transfers"

    # ...and submits it: it gets its reference.
    leader.click(page.get_by_test_id("submit-form").get_by_role("button"))
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "submitted"
    reference = leader.text("grant-reference")
    assert reference.startswith("SEETF-")

    # --- The fund manager returns it with a comment ------------------------------------
    fm = browser.window("amina")
    assert reference in fm.text("review-queue")
    fm.click(fm.page.get_by_test_id("review-queue").get_by_role("link", name=reference))
    assert fm.page.url.endswith(f"/grants/{pk}/")
    return_form = fm.page.get_by_test_id("return-form")
    fm.click(return_form.get_by_role("button", name="Return to the leader"))  # no comment
    return_form = fm.page.get_by_test_id("return-form")
    assert "This field is required." in return_form.inner_text()
    assert fm.page.get_by_test_id("grant-status").get_attribute("data-status") == "submitted"
    comment = "Say how the study tour's lessons will reach the ministry's regional offices."
    return_form.get_by_label(label("Comment to the task team leader")).fill(comment)
    fm.click(return_form.get_by_role("button", name="Return to the leader"))
    assert fm.page.get_by_test_id("grant-status").get_attribute("data-status") == "returned"

    # --- The leader sees the comment, revises and resubmits ----------------------------
    leader.go("/")
    assert leader.text("return-comment") == comment
    leader.click(page.get_by_role("link", name="Revise and resubmit"))
    assert leader.text("return-comment") == comment
    page.get_by_test_id("proposal-form").get_by_label(label("Summary")).fill(
        "Officials from Honduras learn from Mexico's programme; a workshop in each "
        "regional office passes the lessons on."
    )
    leader.click(page.get_by_test_id("save-submit"))
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "submitted"

    # --- The fund manager is refused more than the fund holds, then approves less ------
    fm.go("/")
    available_before = money(fm.text("fund-available"))
    committed_before = money(fm.text("fund-committed"))
    assert available_before == Decimal("150000.00")
    fm.go(f"/grants/{pk}/")
    approve = fm.page.get_by_test_id("approve-form")
    assert "150,000.00 USD available" in fm.text("approve-note")
    approve.get_by_label(label("Amount approved (USD)")).fill("180000.00")
    fm.click(approve.get_by_role("button", name="Approve"))
    approve = fm.page.get_by_test_id("approve-form")
    errors = " ".join(approve.get_by_test_id("form-errors").inner_text().split())
    assert "150,000.00 USD available" in errors, errors
    assert "180,000.00 USD cannot be committed" in errors, errors
    assert approve.get_by_label(label("Amount approved (USD)")).input_value() == "180000.00"
    assert fm.page.get_by_test_id("grant-status").get_attribute("data-status") == "submitted"
    fm.go("/")
    assert money(fm.text("fund-available")) == available_before  # nothing changed
    assert money(fm.text("fund-committed")) == committed_before

    fm.go(f"/grants/{pk}/")
    approve = fm.page.get_by_test_id("approve-form")
    approve.get_by_label(label("Amount approved (USD)")).fill("120000.00")
    approve.get_by_label(label("Comment")).fill("Approved for the study tour and two workshops.")
    fm.click(approve.get_by_role("button", name="Approve"))
    assert fm.page.get_by_test_id("grant-status").get_attribute("data-status") == "approved"
    assert fm.text("grant-approved") == "120,000.00"
    fm.go("/")
    assert available_before - money(fm.text("fund-available")) == Decimal("120000.00")
    assert money(fm.text("fund-committed")) - committed_before == Decimal("120000.00")

    # --- The leader records the exchange held, then the completion report ---------------
    leader.go(f"/grants/{pk}/")
    leader.click(page.get_by_test_id("add-exchange"))
    form = page.get_by_test_id("exchange-form")
    form.get_by_label(label("Instrument")).select_option(label="Study tour")
    form.get_by_label(label("Title")).fill("Study tour to Mexico City")
    form.get_by_label(label("Provider countries")).select_option(label="Mexico (MEX)")
    form.get_by_label(label("Recipient countries")).select_option(label="Honduras (HND)")
    # Held, so started by today (an exchange is never held in the future).
    held_from = date.today() - timedelta(days=60)
    form.get_by_label(label("Start")).fill(held_from.isoformat())
    form.get_by_label(label("End")).fill((held_from + timedelta(days=6)).isoformat())
    form.get_by_label(label("Location")).fill("Mexico City")
    form.get_by_label(label("Participants")).fill("14")
    form.get_by_label(label("Of whom women")).fill("6")
    form.get_by_label(label("Status")).select_option(label="Held")
    leader.click(form.get_by_role("button", name="Save the exchange"))
    row = page.get_by_test_id("exchange-row")
    assert row.count() == 1
    row_text = " ".join(row.inner_text().split())
    assert "Study tour to Mexico City" in row_text and "Held" in row_text
    assert "MEX → HND" in row_text and "14 (6 women)" in row_text

    leader.click(page.get_by_test_id("report-link"))
    form = page.get_by_test_id("report-form")
    form.get_by_label(label("Raised awareness")).check()
    form.get_by_label(label("Increased implementation know-how")).check()
    form.get_by_label(label("Participants")).fill("14")
    form.get_by_label(label("Rating of the results")).select_option(label="Satisfactory")
    first_result = form.get_by_test_id("concrete-result").first
    first_result.get_by_label(label("Kind of result")).select_option(label="Action plan")
    first_result.get_by_label(label("Description")).fill("A national action plan on targeting.")
    form.get_by_label(label("Lessons learned")).fill("Peers convince where manuals do not.")
    form.get_by_label(label("Follow-up is needed")).check()
    form.get_by_label(label("What follow-up is needed")).fill("A pilot in two departments.")
    leader.click(form.get_by_test_id("report-submit"))
    assert leader.text("flash-success") == (
        "The completion report was submitted; the grant is completed."
    )
    assert page.get_by_test_id("grant-status").get_attribute("data-status") == "completed"
    leader.click(page.get_by_test_id("report-link"))
    assert page.get_by_test_id("report-status").get_attribute("data-status") == "submitted"
    assert page.get_by_test_id("report-rating").inner_text() == "Satisfactory"
    assert leader.text("report-follow-up") == "A pilot in two departments."

    # --- The fund manager accepts the report and closes the grant ----------------------
    fm.go("/")
    accept_list = fm.page.get_by_test_id("reports-to-accept")
    fm.click(accept_list.get_by_role("link", name=re.compile(re.escape(reference))))
    assert "A national action plan on targeting." in fm.page.get_by_role("main").inner_text()
    accept = fm.page.get_by_test_id("accept-form")
    accept.get_by_label(label("Comment")).fill("Well done.")
    fm.click(accept.get_by_role("button", name="Accept the completion report"))
    assert fm.page.get_by_test_id("report-status").get_attribute("data-status") == "accepted"
    fm.click(fm.page.get_by_test_id("close-form").get_by_role("button", name="Close the grant"))
    assert fm.page.get_by_test_id("grant-status").get_attribute("data-status") == "closed"
    actions = fm.page.get_by_test_id("history-row").evaluate_all(
        "rows => rows.map(row => row.dataset.action)"
    )
    assert actions == [
        "create", "submit", "return", "submit", "approve", "complete", "accept-report", "close"
    ]  # fmt: skip
    fm.go("/")  # closing released the 120,000 never disbursed
    assert money(fm.text("fund-available")) == available_before

    # --- The donor's dashboard shows the closed grant and counts its outcomes ----------
    donor.go("/dashboard/")
    row = donor.page.get_by_test_id("table-outcomes").locator(f'tr[data-grant="{pk}"]')
    assert reference in row.inner_text()
    totals_after = outcome_totals(donor)
    achieved = {"raised_awareness", "increased_implementation_knowhow"}
    expected = {code: totals_before[code] + (code in achieved) for code in OUTCOMES}
    assert totals_after == expected, (totals_before, totals_after)
    status_table = " ".join(donor.page.get_by_test_id("portfolio").inner_text().split())
    assert "Closed" in status_table

    # --- The fund manager publishes a results story about it ---------------------------
    # No page writes stories (the API and the admin do): made through the services.
    story = result_services.story_create(
        user=manager,
        grant=Grant.objects.get(pk=pk),
        title=STORY_TITLE,
        body=(
            "After a study tour to Mexico City, Honduras's social ministry adopted a "
            "proxy means test: its **targeting** now reaches the poorest households."
        ),
    )
    result_services.story_publish(story=story, user=manager)

    # --- An anonymous visitor finds the story by searching the hub ----------------------
    visitor = browser.window()
    visitor.go("/")
    visitor.click(visitor.page.get_by_role("link", name="Explore the knowledge hub"))
    assert visitor.text("story-count") == "2 stories"
    search = visitor.page.get_by_test_id("hub-search-form")
    search.get_by_label(label("Search")).fill("targeting")
    visitor.click(search.get_by_role("button", name="Search"))
    assert visitor.text("story-count") == "1 story matches your search."
    cards = visitor.page.get_by_test_id("story-card")
    assert cards.count() == 1
    visitor.click(cards.get_by_role("link", name=STORY_TITLE))
    assert visitor.page.url.endswith(f"/stories/{story.slug}/")
    assert visitor.page.get_by_role("heading", level=1).inner_text() == STORY_TITLE
    assert "proxy means test" in visitor.page.get_by_role("main").inner_text()
