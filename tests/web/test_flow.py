"""The whole life of a grant through the pages, as its leader and a fund manager live it:
drafted, edited, submitted, returned with a comment, resubmitted, refused an approval
the fund cannot pay, approved for less than requested, disbursed, its exchange recorded,
its completion report written and submitted, accepted, and closed; then seen by a donor.
"""

from decimal import Decimal

import pytest

from grants.models import Exchange, Grant, GrantStatus
from grants.selectors import fund_summary
from partners.models import Fund
from results.models import CompletionReport
from tests.factories import fund_with
from tests.web.pages import field_errors, field_value, form_data, money, page

pytestmark = pytest.mark.django_db


def _proposal(web_client, url, **changes):
    form = page(web_client.get(url))
    return form_data(form, "proposal-form", **changes)


def test_a_grant_from_draft_to_closed_through_the_pages(
    web, leader, fund_manager, donor, donor_partner
):
    fund_with("150000.00")
    ttl, fm = web(leader), web(fund_manager)

    # The leader drafts a proposal with one planned exchange.
    data = _proposal(
        ttl,
        "/grants/new/",
        title="Peer learning on cash transfers",
        summary="Officials from Honduras learn from Mexico's programme.",
        sector="16010",
        region="LCR",
        recipient_countries=["HND"],
        provider_countries=["MEX"],
        targeted_outcomes=["raised_awareness", "enhanced_knowledge_and_skills"],
        planned_start="2026-01-10",
        planned_end="2026-06-30",
        requested_usd="200000.00",
        exchanges__0__instrument="study_tour",
        exchanges__0__title="Study tour to Mexico City",
        exchanges__0__start_date="2026-02-01",
        exchanges__0__end_date="2026-02-07",
        exchanges__0__location="Mexico City",
        exchanges__0__participants="12",
    )
    response = ttl.post("/grants/new/", {**data, "save": "1"})
    assert response.status_code == 302
    grant = Grant.objects.get()
    assert response["Location"] == f"/grants/{grant.pk}/"
    assert grant.status == GrantStatus.DRAFT
    assert grant.requested_usd == Decimal("200000.00")
    assert [c.code for c in grant.recipient_countries.all()] == ["HND"]
    assert list(grant.exchanges.values_list("title", "participants")) == [
        ("Study tour to Mexico City", 12)
    ]
    detail = page(ttl.get(response["Location"]))
    assert detail.testid("flash-success").text == "The draft was saved."
    assert detail.testid("grant-status").attrs["data-status"] == "draft"
    # A draft is the leader's alone: the fund manager does not see it yet.
    assert fm.get(f"/grants/{grant.pk}/").status_code == 404

    # The leader edits the draft: the form shows what was saved.
    edit_url = f"/grants/{grant.pk}/edit/"
    edit = page(ttl.get(edit_url))
    assert field_value(edit, "title") == "Peer learning on cash transfers"
    assert field_value(edit, "exchanges-0-title") == "Study tour to Mexico City"
    data = form_data(edit, "proposal-form", title="Peer learning on conditional cash transfers")
    assert ttl.post(edit_url, {**data, "save": "1"}).status_code == 302
    grant.refresh_from_db()
    assert grant.title == "Peer learning on conditional cash transfers"
    assert grant.exchanges.count() == 1  # the unchanged exchange was left as it was

    # ...and submits it: it gets its reference and enters the review queue.
    response = ttl.post(f"/grants/{grant.pk}/actions/submit/", {"comment": ""})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.SUBMITTED
    assert grant.reference.startswith("SEETF-")
    queue = page(fm.get("/")).testid("review-queue")
    assert grant.reference in queue.text

    # The fund manager returns it; a return needs a comment.
    refused = fm.post(f"/grants/{grant.pk}/actions/return/", {"comment": ""})
    assert refused.status_code == 200
    assert field_errors(page(refused), "id_return_comment") == ["This field is required."]
    grant.refresh_from_db()
    assert grant.status == GrantStatus.SUBMITTED
    comment = "Say how the study tour's lessons will reach the ministry's regional offices."
    assert fm.post(f"/grants/{grant.pk}/actions/return/", {"comment": comment}).status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.RETURNED

    # The leader sees the comment on the home page, the grant page and the edit form.
    home = page(ttl.get("/"))
    assert home.testid("return-comment").text == comment
    assert page(ttl.get(f"/grants/{grant.pk}/")).testid("return-comment").text == comment
    edit = page(ttl.get(edit_url))
    assert edit.testid("return-comment").text == comment

    # The leader revises and resubmits in one go ("Save and submit").
    data = form_data(edit, "proposal-form", summary="Lessons reach the regional offices.")
    response = ttl.post(edit_url, {**data, "submit": "1"})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.SUBMITTED
    assert grant.summary == "Lessons reach the regional offices."

    # The approval form shows the money available.
    detail = page(fm.get(f"/grants/{grant.pk}/"))
    assert "150,000.00 USD" in detail.testid("approve-note").text
    assert field_value(detail.testid("approve-form"), "approved_usd") == "200000.00"

    # Approving more than is available is refused with the reason; nothing changes.
    before = fund_summary()
    refused = fm.post(
        f"/grants/{grant.pk}/actions/approve/", {"approved_usd": "180000.00", "comment": "ok"}
    )
    assert refused.status_code == 200
    refused_page = page(refused)
    errors = refused_page.testid("approve-form").testid("form-errors").text
    assert "150,000.00 USD available" in errors
    assert "180,000.00 USD cannot be committed" in errors
    assert field_value(refused_page.testid("approve-form"), "approved_usd") == "180000.00"
    grant.refresh_from_db()
    assert grant.status == GrantStatus.SUBMITTED and grant.approved_usd is None
    after = fund_summary()
    assert {k: v for k, v in after.items() if k != "as_of"} == {
        k: v for k, v in before.items() if k != "as_of"
    }

    # Approving less than requested: available money drops by that amount.
    response = fm.post(
        f"/grants/{grant.pk}/actions/approve/", {"approved_usd": "120000.00", "comment": ""}
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.APPROVED
    assert grant.approved_usd == Decimal("120000.00")
    fm_home = page(fm.get("/"))
    assert money(fm_home.testid("fund-available").text) == Decimal("30000.00")
    assert money(fm_home.testid("fund-committed").text) == Decimal("120000.00")

    # The fund manager disburses part of it.
    detail = page(fm.get(f"/grants/{grant.pk}/"))
    data = form_data(detail, "disbursement-form", amount_usd="50000.00", purpose="First tranche")
    assert fm.post(f"/grants/{grant.pk}/disbursements/", data).status_code == 302
    grant.refresh_from_db()
    assert grant.disbursed_usd == Decimal("50000.00")

    # The leader records the study tour as held.
    exchange = grant.exchanges.get()
    url = f"/grants/{grant.pk}/exchanges/{exchange.pk}/"
    data = form_data(
        page(ttl.get(url)),
        "exchange-form",
        status="held",
        participants="14",
        women_participants="6",
        provider_countries=["MEX"],
        recipient_countries=["HND"],
    )
    assert ttl.post(url, data).status_code == 302
    exchange = Exchange.objects.get(pk=exchange.pk)
    assert (exchange.status, exchange.participants, exchange.women_participants) == (
        "held",
        14,
        6,
    )

    # The completion report: submitting without a rating says so next to the rating,
    # keeping what was typed, and saves nothing.
    report_url = f"/grants/{grant.pk}/report/"
    data = form_data(
        page(ttl.get(report_url)),
        "report-form",
        outcomes_achieved=["raised_awareness", "increased_implementation_knowhow"],
        participants="14",
        lessons="Peers convince where manuals do not.",
        results__0__kind="action_plan",
        results__0__description="A national action plan on targeting.",
    )
    refused = ttl.post(report_url, {**data, "submit": "1"})
    assert refused.status_code == 200
    refused_page = page(refused)
    assert field_errors(refused_page, "id_rating") == [
        "Rate the grant's results before submitting."
    ]
    assert field_value(refused_page, "lessons") == "Peers convince where manuals do not."
    assert field_value(refused_page, "results-0-description") == (
        "A national action plan on targeting."
    )
    assert not CompletionReport.objects.filter(grant=grant).exists()
    data["rating"] = "S"
    assert ttl.post(report_url, {**data, "submit": "1"}).status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.COMPLETED
    report = grant.completion_report
    assert report.outcomes_achieved == ["raised_awareness", "increased_implementation_knowhow"]
    assert list(report.concrete_results.values_list("kind", flat=True)) == ["action_plan"]

    # The fund manager finds it on the home page, accepts it and closes the grant.
    assert grant.reference in page(fm.get("/")).testid("reports-to-accept").text
    response = fm.post(f"/grants/{grant.pk}/report/accept/", {"comment": "Well done."})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.accepted_at is not None
    report_page = page(fm.get(report_url))
    report_page.testid("close-form")
    assert fm.post(f"/grants/{grant.pk}/actions/close/", {"comment": ""}).status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.CLOSED
    # Closing released the 70,000 not disbursed: 150,000 received - 50,000 spent.
    assert Fund.objects.get().available_usd == Decimal("100000.00")
    actions = [
        row.attrs["data-action"]
        for row in page(fm.get(f"/grants/{grant.pk}/")).find_all(data_testid="history-row")
    ]
    assert actions == [
        "create", "submit", "return", "submit", "approve", "complete", "accept-report", "close"
    ]  # fmt: skip

    # A donor sees the closed grant's outcomes on the dashboard, and downloads them.
    dashboard = page(web(donor).get("/dashboard/"))
    row = dashboard.testid("table-outcomes").find(data_grant=str(grant.pk))
    assert row is not None and grant.reference in row.text
    csv = web(donor).get("/dashboard/outcomes.csv")
    assert csv.status_code == 200
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("reference,title,raised_awareness")  # no internal id
    assert any(grant.reference in line for line in lines[1:])
