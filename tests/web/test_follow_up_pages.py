"""After the exchange through the pages (issue 19): the leader writes follow-up needs as
rows of the completion report, a fund manager records what became of them, a leader
proposes a follow-on from a need or a grant, the grant page shows its chain and its
ex-post checks, the leader files a check (not before it is due) and the sustained-results
page adds them up."""

from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from grants import services as grant_services
from grants.models import Grant, GrantStatus
from results import services
from results.models import ExPostCheck, FollowUpNeed
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant
from tests.web.pages import form_data, page

pytestmark = pytest.mark.django_db


def test_the_leader_writes_needs_as_rows_of_the_report(web, funded, leader, fund_manager):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    ttl = web(leader)
    form = page(ttl.get(f"/grants/{grant.pk}/report/"))
    assert len(form.find_all(data_testid="follow-up-need-row")) == 2
    data = form_data(
        form,
        "report-form",
        participants="20",
        rating="S",
        **{
            "needs-0-kind": "implementation_financing",
            "needs-0-description": "Scale the pilot up.",
            "needs-0-estimated_usd": "250000.00",
            "needs-1-kind": "further_exchange",
            "needs-1-description": "A second visit.",
        },
    )
    response = ttl.post(f"/grants/{grant.pk}/report/", {**data, "save": "1"})
    assert response.status_code == 302, page(response).text[:500]
    assert list(FollowUpNeed.objects.values_list("kind", "estimated_usd")) == [
        ("implementation_financing", Decimal("250000.00")),
        ("further_exchange", None),
    ]
    # Saved rows come back with a Remove box, and two empty rows to add more.
    form = page(ttl.get(f"/grants/{grant.pk}/report/"))
    assert len(form.find_all(data_testid="follow-up-need-row")) == 4
    data = form_data(form, "report-form", **{"needs-1-DELETE": "on"})
    assert ttl.post(f"/grants/{grant.pk}/report/", {**data, "save": "1"}).status_code == 302
    assert list(FollowUpNeed.objects.values_list("kind", flat=True)) == ["implementation_financing"]
    bad = form_data(
        page(ttl.get(f"/grants/{grant.pk}/report/")),
        "report-form",
        **{"needs-1-kind": "investment", "needs-1-description": "x", "needs-1-estimated_usd": "-1"},
    )
    response = ttl.post(f"/grants/{grant.pk}/report/", {**bad, "save": "1"})
    assert response.status_code == 200
    assert FollowUpNeed.objects.count() == 1


@pytest.fixture
def completed(funded, leader, fund_manager):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    from tests.grants.factories import REPORT

    services.completion_report_save(
        grant=grant,
        user=leader,
        **REPORT,
        follow_up_needs=[
            {"kind": "investment", "description": "A loan for the zones."},
            {"kind": "other", "description": "Something else."},
        ],
    )
    services.completion_report_submit(grant=grant, user=leader)
    services.completion_report_accept(grant=grant, user=fund_manager)
    return grant


def test_a_fund_manager_records_what_became_of_each_need(web, completed, fund_manager, leader):
    fm = web(fund_manager)
    report = page(fm.get(f"/grants/{completed.pk}/report/"))
    first, second = FollowUpNeed.objects.order_by("pk")
    assert len(report.find_all(data_testid="finance-elsewhere")) == 2
    response = fm.post(
        f"/grants/{completed.pk}/needs/{first.pk}/finance-elsewhere/",
        {
            f"need{first.pk}-financed_elsewhere_by": "World Bank IDA",
            f"need{first.pk}-financed_elsewhere_usd": "5000000.00",
        },
    )
    assert response.status_code == 302
    fm.post(f"/grants/{completed.pk}/needs/{second.pk}/drop/", {f"drop{second.pk}-reason": "No"})
    statuses = {
        row.attrs["data-need"]: (row.attrs["data-status"], row.testid("need-status").text)
        for row in page(fm.get(f"/grants/{completed.pk}/report/")).find_all(data_testid="need-row")
    }
    assert statuses == {
        str(first.pk): ("financed", "Financed by World Bank IDA: 5,000,000.00 USD"),
        str(second.pk): ("dropped", "Dropped: No"),
    }
    # Twice: refused, with the reason; the leader may not.
    again = fm.post(
        f"/grants/{completed.pk}/needs/{first.pk}/finance-elsewhere/",
        {
            f"need{first.pk}-financed_elsewhere_by": "X",
            f"need{first.pk}-financed_elsewhere_usd": "1.00",
        },
        follow=True,
    )
    assert "financed or dropped once" in page(again).text
    assert (
        web(leader)
        .post(f"/grants/{completed.pk}/needs/{first.pk}/drop/", {f"drop{first.pk}-reason": "No"})
        .status_code
        == 403
    )


def test_a_follow_on_from_a_need_shows_in_the_chain_and_finances_it(
    web, completed, leader2, fund_manager
):
    need = FollowUpNeed.objects.order_by("pk").first()
    other = web(leader2)
    report = page(other.get(f"/grants/{completed.pk}/report/"))
    assert len(report.find_all(data_testid="propose-follow-on")) == 2
    response = other.post(
        f"/grants/{completed.pk}/needs/{need.pk}/follow-on/", {"relation": "follow_on"}
    )
    draft = Grant.objects.get(parent=completed)
    assert response["Location"] == f"/grants/{draft.pk}/"
    chain = page(other.get(f"/grants/{draft.pk}/")).testid("grant-chain")
    assert [li.text.split()[0] for li in chain.find_all(data_testid="chain-ancestor")] == [
        completed.reference
    ]
    grant_services.grant_transition(grant=draft, user=leader2, action="submit")
    grant_services.grant_transition(
        grant=draft, user=fund_manager, action="approve", approved_usd=draft.requested_usd
    )
    draft.refresh_from_db()
    parent_page = page(web(fund_manager).get(f"/grants/{completed.pk}/"))
    (child,) = parent_page.testid("grant-chain").find_all(data_testid="chain-descendant")
    assert draft.reference in child.text
    row = page(web(fund_manager).get(f"/grants/{completed.pk}/report/")).find(
        data_need=str(need.pk)
    )
    assert row.attrs["data-status"] == "financed"
    assert f"Financed by follow-on grant {draft.reference}" in row.text


def test_the_grant_page_offers_a_follow_on_only_once_completed(web, funded, leader, fund_manager):
    approved = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    assert (
        page(web(leader).get(f"/grants/{approved.pk}/")).find(data_testid="grant-propose-follow-on")
        is None
    )
    closed = finished_grant(leader, fund_manager)
    ttl = web(leader)
    assert page(ttl.get(f"/grants/{closed.pk}/")).find(data_testid="grant-propose-follow-on")
    response = ttl.post(f"/grants/{closed.pk}/follow-on/", {"relation": "repeat"})
    assert response.status_code == 302
    assert Grant.objects.get(parent=closed).relation == "repeat"
    refused = ttl.post(f"/grants/{approved.pk}/follow-on/", {"relation": "repeat"}, follow=True)
    assert "completed or closed" in page(refused).text
    assert (
        web(fund_manager).post(f"/grants/{closed.pk}/follow-on/", {"relation": "repeat"})
    ).status_code == 403


def test_the_leader_files_an_ex_post_check_on_its_page_not_before_it_is_due(
    web, funded, leader, fund_manager, donor
):
    with time_machine.travel(timezone.make_aware(datetime(2026, 1, 15, 10)), tick=False):
        grant = finished_grant(leader, fund_manager)
    url = f"/grants/{grant.pk}/ex-post/6/"
    with time_machine.travel(timezone.make_aware(datetime(2026, 7, 14, 10)), tick=False):
        early = page(web(leader).get(url))
        assert early.find(data_testid="ex-post-form") is None
        assert "due on 2026-07-15" in early.testid("ex-post-refusal").text
        assert web(leader).post(url, {"reform_enacted": "on"}).status_code == 200
    assert ExPostCheck.objects.get(grant=grant, months_after_close=6).submitted_at is None
    with time_machine.travel(timezone.make_aware(datetime(2026, 7, 15, 10)), tick=False):
        ttl = web(leader)
        checks = page(ttl.get(f"/grants/{grant.pk}/")).testid("ex-post-checks")
        assert "due on 2026-07-15" in checks.text
        data = form_data(
            page(ttl.get(url)), "ex-post-form", reform_enacted="on", evidence="Decree 7"
        )
        response = ttl.post(url, data)
        assert response.status_code == 302
        assert web(fund_manager).post(url, data).status_code == 403
    check = ExPostCheck.objects.get(grant=grant, months_after_close=6)
    assert (check.reform_enacted, check.evidence, check.submitted_by) == (True, "Decree 7", leader)
    answers = page(web(donor).get(url)).testid("ex-post-answers")
    assert answers.find(data_answer="reform_enacted").text == "yes"


def test_the_sustained_results_page_adds_up_the_checks(web, funded, leader, fund_manager, donor):
    with time_machine.travel(timezone.make_aware(datetime(2025, 1, 15, 10)), tick=False):
        grant = finished_grant(leader, fund_manager)
    check = ExPostCheck.objects.get(grant=grant, months_after_close=12)
    with time_machine.travel(timezone.make_aware(datetime(2026, 1, 15, 10)), tick=False):
        services.ex_post_check_file(check=check, user=leader, investment_made=True)
    body = page(web(donor).get("/reports/sustained-results/"))
    (row,) = body.find_all(data_testid="sustained-row")
    assert grant.reference in row.text
    cells = [td.text for td in body.testid("sustained-totals").find_all("td")]
    assert cells == ["", "1", "0", "0", "0", "1", "0"]
    assert web(None).get("/reports/sustained-results/").status_code == 302


def test_the_donor_dashboard_links_to_the_sustained_results(web, funded, donor):
    body = page(web(donor).get("/dashboard/"))
    assert body.testid("link-sustained-results").attrs["href"] == "/reports/sustained-results/"
