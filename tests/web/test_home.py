"""Each role's home page shows that role's work, from the same selectors as the API."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from grants import services as grant_services
from grants.alerts import evaluate_fund_alerts
from grants.models import Grant, GrantStatus
from grants.selectors import fund_summary
from partners.models import AlertKind
from partners.roles import Role
from results.models import CompletionReport
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant, make_story
from tests.web.pages import money, page

pytestmark = pytest.mark.django_db

FIGURES = ["received", "committed", "available", "pipeline", "pledged", "disbursed"]


def test_manager_home_shows_the_funds_money_as_fund_summary_gives_it(web, fund_manager, leader):
    fund_with("400000.00")
    make_grant(leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("90000.00"))
    make_grant(leader, GrantStatus.SUBMITTED, requested_usd=Decimal("55000.50"))
    summary = fund_summary()
    root = page(web(fund_manager).get("/"))
    for name in FIGURES:
        assert money(root.testid(f"fund-{name}").text) == summary[f"{name}_usd"], name
    assert money(root.testid("fund-available").text) == Decimal("310000.00")
    assert money(root.testid("fund-pipeline").text) == Decimal("55000.50")


def test_manager_home_lists_open_alerts(web, fund_manager):
    fund_with("100000.00")  # below the 250,000 threshold
    evaluate_fund_alerts()
    alerts = page(web(fund_manager).get("/")).testid("open-alerts")
    kinds = [node.attrs["data-kind"] for node in alerts.find_all(data_testid="alert")]
    assert kinds == [AlertKind.LOW_BALANCE]
    assert "100,000.00 USD available" in alerts.text


def test_manager_home_lists_the_review_queue_and_not_drafts(web, fund_manager, leader, funded):
    submitted = make_grant(leader, GrantStatus.SUBMITTED, title="Submitted one")
    reviewing = make_grant(
        leader, GrantStatus.UNDER_REVIEW, manager=fund_manager, title="Under review one"
    )
    draft = make_grant(leader, GrantStatus.DRAFT, title="Draft one")
    approved = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager, title="Done")
    queue = page(web(fund_manager).get("/")).testid("review-queue")
    listed = [int(row.attrs["data-grant"]) for row in queue.find_all(data_testid="queue-row")]
    assert listed == [submitted.pk, reviewing.pk]
    assert draft.pk not in listed and approved.pk not in listed


def test_manager_home_lists_overdue_completion_reports(web, fund_manager, leader, funded):
    overdue = make_grant(
        leader,
        GrantStatus.APPROVED,
        manager=fund_manager,
        planned_start=date(2020, 1, 1),
        planned_end=date(2020, 3, 31),
    )
    not_due = make_grant(
        leader,
        GrantStatus.APPROVED,
        manager=fund_manager,
        planned_start=date(2099, 1, 1),
        planned_end=date(2099, 3, 31),
    )
    section = page(web(fund_manager).get("/")).testid("overdue-reports")
    rows = section.find_all(data_testid="overdue-row")
    assert [int(r.attrs["data-grant"]) for r in rows] == [overdue.pk]
    assert not_due.reference not in section.text
    days = (date.today() - overdue.completion_report_due).days
    assert rows[0].find_all("td")[-1].text == str(days)


def test_manager_home_lists_reports_to_accept_and_grants_to_close(
    web, fund_manager, leader, funded
):
    waiting = finished_grant(leader, fund_manager, accept=False, title="Waiting")
    to_close = finished_grant(leader, fund_manager, status=GrantStatus.COMPLETED, title="Accepted")
    root = page(web(fund_manager).get("/"))
    assert waiting.reference in root.testid("reports-to-accept").text
    assert to_close.reference in root.testid("grants-to-close").text
    assert to_close.reference not in root.testid("reports-to-accept").find("ul").text


def test_manager_home_rows_show_each_grants_leader_dates_and_amounts(
    web, fund_manager, leader, funded
):
    """The lists are read as rows of the columns they show (not as grants with their
    leader and report): each column is still there, as the grant's own page gives it."""
    queued = make_grant(leader, GrantStatus.SUBMITTED, requested_usd=Decimal("123456.78"))
    overdue = make_grant(
        leader,
        GrantStatus.APPROVED,
        manager=fund_manager,
        planned_start=date(2020, 1, 1),
        planned_end=date(2020, 3, 31),
    )
    waiting = finished_grant(leader, fund_manager, accept=False)
    to_close = finished_grant(leader, fund_manager, status=GrantStatus.COMPLETED)
    root = page(web(fund_manager).get("/"))

    row = root.testid("review-queue").find(data_testid="queue-row")
    cells = [cell.text for cell in row.find_all("td")]
    assert cells == [
        f"{queued.reference} {queued.title}",
        leader.username,
        timezone.localtime(queued.submitted_at).date().isoformat(),
        "123,456.78",
        "Submitted",
    ]
    assert row.find("a").attrs["href"] == f"/grants/{queued.pk}/"
    badge = row.testid("grant-status")
    assert badge.attrs["data-status"] == "submitted"
    assert badge.attrs["class"] == "badge badge--submitted"

    row = root.testid("overdue-reports").find(data_testid="overdue-row")
    cells = [cell.text for cell in row.find_all("td")]
    assert cells[:3] == [
        f"{overdue.reference} {overdue.title}",
        leader.username,
        overdue.completion_report_due.isoformat(),
    ]
    assert row.find("a").attrs["href"] == f"/grants/{overdue.pk}/"

    item = root.testid("reports-to-accept").find("li")
    submitted = timezone.localtime(waiting.completion_report.submitted_at).date()
    assert item.text == f"{waiting.reference} {waiting.title} · submitted {submitted.isoformat()}"
    assert item.find("a").attrs["href"] == f"/grants/{waiting.pk}/report/"

    item = root.testid("grants-to-close").find("li")
    assert item.text == f"{to_close.reference} {to_close.title}"
    assert item.find("a").attrs["href"] == f"/grants/{to_close.pk}/"


def test_reports_to_accept_are_the_submitted_ones_not_yet_accepted(
    web, fund_manager, leader, funded
):
    """What results.services.completion_report_accept accepts: a completed grant whose
    report was unsubmitted or removed behind the workflow's back is not offered for
    acceptance (the list once showed it, with no submission date), nor for closing."""
    waiting = finished_grant(leader, fund_manager, accept=False, title="Waiting")
    unsubmitted = finished_grant(leader, fund_manager, accept=False, title="Unsubmitted")
    CompletionReport.objects.filter(grant=unsubmitted).update(submitted_at=None)
    no_report = finished_grant(leader, fund_manager, accept=False, title="No report")
    CompletionReport.objects.filter(grant=no_report).delete()
    assert Grant.objects.filter(status=GrantStatus.COMPLETED).count() == 3
    root = page(web(fund_manager).get("/"))
    section = root.testid("reports-to-accept")
    links = [a.attrs["href"] for a in section.find("ul").find_all("a")]
    assert links == [f"/grants/{waiting.pk}/report/"]
    assert root.find(data_testid="grants-to-close") is None


def test_leader_home_groups_my_grants_by_status_with_the_return_comment(
    web, leader, leader2, fund_manager, funded
):
    draft = make_grant(leader, GrantStatus.DRAFT, title="My draft")
    returned = make_grant(leader, GrantStatus.DRAFT, title="My returned")
    returned = grant_services.grant_transition(grant=returned, user=leader, action="submit")
    grant_services.grant_transition(
        grant=returned, user=fund_manager, action="return", comment="Add a budget."
    )
    approved = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager, title="Mine ok")
    others = make_grant(leader2, GrantStatus.SUBMITTED, title="Someone else's")
    root = page(web(leader).get("/"))
    section = root.testid("leader-home")
    assert draft.title in section.testid("my-grants-draft").text
    assert section.testid("my-grants-returned").testid("return-comment").text == "Add a budget."
    assert approved.title in section.testid("my-grants-approved").text
    assert others.title not in section.text
    assert approved.reference in section.testid("reports-due").text
    # Returned ones come first: they need the leader.
    groups = [n.attrs["data-testid"] for n in section.find_all("section")]
    assert groups == ["my-grants-returned", "my-grants-draft", "my-grants-approved"]
    assert root.find(data_testid="manager-home") is None


def test_donor_home_shows_the_partners_money_and_share(web, donor, donor_partner):
    contribution = make_contribution(donor_partner, pledged_amount="300000.00")
    make_receipt(contribution, "100000.00")
    fund_with("300000.00")  # someone else's
    root = page(web(donor).get("/"))
    section = root.testid("donor-home")
    assert money(section.testid("donor-pledged").text) == Decimal("300000.00")
    assert money(section.testid("donor-received").text) == Decimal("100000.00")
    assert section.testid("donor-share").text == "25.00 %"
    assert root.find(data_testid="manager-home") is None
    assert root.find(data_testid="leader-home") is None


def test_a_user_with_several_roles_sees_each_part(web, make_user):
    user = make_user("both", Role.FUND_MANAGER, Role.TASK_TEAM_LEADER)
    root = page(web(user).get("/"))
    root.testid("manager-home")
    root.testid("leader-home")


def test_a_user_without_a_role_is_told_so(web, no_role_user):
    root = page(web(no_role_user).get("/"))
    assert "no role" in root.testid("no-role").text


def test_the_public_home_shows_published_stories_only(web, fund_manager, leader, funded):
    grant = finished_grant(leader, fund_manager)
    make_story(fund_manager, grant, published=True, title="Published story")
    make_story(fund_manager, grant, published=False, title="Draft story")
    response = web().get("/")
    assert response.status_code == 200
    cards = page(response).find_all(data_testid="story-card")
    assert [c.find("a").text for c in cards] == ["Published story"]


def test_pages_other_than_home_and_the_hub_need_a_login(web):
    for url in ["/grants/", "/grants/new/", "/partners/", "/contributions/", "/dashboard/"]:
        response = web().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_the_managers_lists_are_short_with_a_way_to_see_all(
    web, fund_manager, leader, funded, monkeypatch
):
    from grants import selectors as grant_selectors

    monkeypatch.setattr(grant_selectors, "HOME_LIMIT", 2)
    for _ in range(3):
        make_grant(leader, GrantStatus.SUBMITTED)
    root = page(web(fund_manager).get("/"))
    queue = root.testid("review-queue")
    assert len(queue.find_all(data_testid="queue-row")) == 2
    more = queue.testid("more-to-review")
    assert more.attrs["href"] == "/grants/?status=submitted&status=under_review"
