"""Errors a person understands: what is wrong next to the field, with what was typed
kept; a refused decision says why; 403, 404 and 500 pages in the site's layout."""

from decimal import Decimal

import pytest
from django.template import loader

from grants import selectors as grant_selectors
from grants.models import Grant, GrantStatus
from tests.factories import fund_with
from tests.grants.factories import make_grant
from tests.web.pages import field_errors, field_value, form_data, page

pytestmark = pytest.mark.django_db


def _in_layout(root) -> None:
    """The site's layout: its stylesheet, a main landmark, the navigation's brand."""
    assert root.find("link", rel="stylesheet", href="/static/seetf/site.css") is not None
    assert root.find("main", id="main") is not None
    assert root.find("a", **{"class": "brand"}) is not None


def test_an_unknown_page_is_a_404_in_the_layout(web, leader):
    response = web(leader).get("/no/such/page/")
    assert response.status_code == 404
    root = page(response)
    _in_layout(root)
    assert root.testid("error-title").text == "Page not found"
    # The logged-in user keeps their navigation on the error page.
    assert root.find("nav") is not None


def test_an_unknown_api_path_stays_a_json_404(web, leader):
    response = web(leader).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_grant_the_user_may_not_see_is_a_404(web, leader, leader2, fund_manager, donor):
    draft = make_grant(leader, GrantStatus.DRAFT)
    submitted = make_grant(leader, GrantStatus.SUBMITTED)
    for user, grant in [
        (fund_manager, draft),  # drafts are their leader's alone
        (leader2, draft),
        (leader2, submitted),  # others' grants once approved
        (donor, submitted),
    ]:
        for url in [
            f"/grants/{grant.pk}/",
            f"/grants/{grant.pk}/edit/",
            f"/grants/{grant.pk}/report/",
            f"/grants/{grant.pk}/exchanges/new/",
        ]:
            response = web(user).get(url)
            assert response.status_code == 404, (user, url)
            _in_layout(page(response))
        response = web(user).post(f"/grants/{grant.pk}/actions/approve/", {"approved_usd": "1"})
        assert response.status_code == 404


def test_a_forbidden_action_is_a_403_page_with_the_reason(web, leader, donor, funded):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    before = Grant.objects.filter(pk=grant.pk).values().get()
    response = web(leader).post(
        f"/grants/{grant.pk}/actions/approve/", {"approved_usd": "100000.00"}
    )
    assert response.status_code == 403
    root = page(response)
    _in_layout(root)
    assert root.testid("error-reason").text == "Only fund managers decide on grants."
    assert Grant.objects.filter(pk=grant.pk).values().get() == before
    for user, url in [
        (donor, "/grants/new/"),
        (leader, "/contributions/new/"),
        (leader, "/partners/new/"),
        (leader, "/dashboard/"),
    ]:
        response = web(user).get(url)
        assert response.status_code == 403, url
        _in_layout(page(response))


def test_a_fund_manager_cannot_approve_a_grant_they_lead(web, make_user, funded):
    both = make_user("both", "fund_manager", "task_team_leader")
    grant = make_grant(both, GrantStatus.SUBMITTED)
    root = page(web(both).get(f"/grants/{grant.pk}/"))
    assert "cannot approve a grant they lead" in root.testid("self-approval").text
    assert root.find(data_testid="approve-form") is None
    response = web(both).post(f"/grants/{grant.pk}/actions/approve/", {"approved_usd": "1.00"})
    assert response.status_code == 403


def test_a_decision_in_the_wrong_status_says_why(web, leader, fund_manager, funded):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    client = web(fund_manager)
    response = client.post(f"/grants/{grant.pk}/actions/reject/", {"comment": "No."})
    assert response.status_code == 302
    root = page(client.get(response["Location"]))
    assert root.testid("flash-error").text == (
        "Cannot reject a grant that is approved; it must be submitted or under_review."
    )
    grant.refresh_from_db()
    assert grant.status == GrantStatus.APPROVED


def test_an_approval_above_the_request_is_shown_next_to_the_amount(
    web, leader, fund_manager, funded
):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    response = web(fund_manager).post(
        f"/grants/{grant.pk}/actions/approve/", {"approved_usd": "150000.00", "comment": "x"}
    )
    assert response.status_code == 200
    root = page(response)
    assert field_errors(root, "id_approve_approved_usd") == [
        "Cannot approve more than the 100,000.00 USD requested."
    ]
    assert field_value(root.testid("approve-form"), "comment") == "x"


def test_an_over_disbursement_says_how_much_is_left(web, leader, fund_manager, funded):
    grant = make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("60000.00")
    )
    client = web(fund_manager)
    data = form_data(
        page(client.get(f"/grants/{grant.pk}/")), "disbursement-form", amount_usd="60000.01"
    )
    response = client.post(f"/grants/{grant.pk}/disbursements/", data)
    assert response.status_code == 200
    form = page(response).testid("disbursement-form")
    assert (
        "Only 60,000.00 USD of this grant is left to disburse." in form.testid("form-errors").text
    )
    assert field_value(form, "amount_usd") == "60000.01"
    grant.refresh_from_db()
    assert grant.disbursed_usd == 0


def test_proposal_errors_are_next_to_their_fields_and_keep_what_was_typed(web, leader):
    client = web(leader)
    data = form_data(
        page(client.get("/grants/new/")),
        "proposal-form",
        title="Water utilities learn from Brazil",
        summary="Typed with care.",
        sector="14010",
        region="AFR",
        recipient_countries=["KEN", "BRA"],
        provider_countries=["BRA"],
        planned_start="2026-05-01",
        planned_end="2026-04-01",
        requested_usd="12.345",
    )
    response = client.post("/grants/new/", {**data, "save": "1"})
    assert response.status_code == 200
    root = page(response)
    root.testid("form-errors")
    assert field_errors(root, "id_requested_usd") == [
        "Ensure that there are no more than 2 decimal places."
    ]
    assert field_value(root, "title") == "Water utilities learn from Brazil"
    assert field_value(root, "summary") == "Typed with care."
    assert field_value(root, "recipient_countries") == "BRA,KEN"
    assert not Grant.objects.exists()

    # Now a well-formed amount: the service's rules speak, next to their fields.
    data["requested_usd"] = "12.34"
    root = page(client.post("/grants/new/", {**data, "save": "1"}))
    assert field_errors(root, "id_planned_end") == [
        "The planned end cannot be before the planned start."
    ]
    assert field_errors(root, "id_provider_countries") == [
        "A country cannot both provide and receive in one grant: BRA."
    ]
    assert field_value(root, "requested_usd") == "12.34"
    assert not Grant.objects.exists()


def test_a_refused_planned_exchange_rolls_the_whole_proposal_back(web, leader):
    client = web(leader)
    data = form_data(
        page(client.get("/grants/new/")),
        "proposal-form",
        title="A proposal",
        sector="14010",
        region="AFR",
        recipient_countries=["KEN"],
        planned_start="2026-05-01",
        planned_end="2026-06-01",
        requested_usd="50000",
        exchanges__1__instrument="workshop",
        exchanges__1__title="Workshop",
        exchanges__1__start_date="2026-05-10",
        exchanges__1__end_date="2026-05-09",
    )
    response = client.post("/grants/new/", {**data, "save": "1"})
    assert response.status_code == 200
    root = page(response)
    assert field_errors(root, "id_exchanges-1-end_date") == [
        "An exchange cannot end before it starts."
    ]
    assert field_value(root, "exchanges-1-title") == "Workshop"
    assert not Grant.objects.exists()


def test_a_receipt_beyond_the_pledge_is_refused_next_to_the_amount(web, fund_manager):
    from tests.factories import make_contribution

    contribution = make_contribution(currency="DKK", pledged_amount="1000", pledged_usd="150")
    client = web(fund_manager)
    url = f"/contributions/{contribution.pk}/"
    data = form_data(page(client.get(url)), "receipt-form", amount="1000.01", usd_amount="150.00")
    response = client.post(f"/contributions/{contribution.pk}/receipts/", data)
    assert response.status_code == 200
    root = page(response)
    assert field_errors(root, "id_amount") == [
        "Only 1,000.00 DKK of this pledge is outstanding; amend the pledge first."
    ]
    assert field_value(root.testid("receipt-form"), "amount") == "1000.01"
    assert contribution.receipts.count() == 0


def test_the_500_page_is_in_the_layout(web, leader, monkeypatch):
    def broken(user):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(grant_selectors, "grants_visible_to", broken)
    client = web(leader, raise_request_exception=False)
    response = client.get("/grants/")
    assert response.status_code == 500
    root = page(response)
    _in_layout(root)
    assert root.testid("error-title").text == "Something went wrong"


def test_the_500_template_needs_no_request_context():
    html = loader.get_template("500.html").render()
    assert "Something went wrong" in html
    assert 'href="/static/seetf/site.css"' in html


def test_a_money_figure_of_a_fund_is_never_a_float(web, fund_manager):
    fund_with("0.10")
    root = page(web(fund_manager).get("/"))
    assert root.testid("fund-received").text == "0.10"


def test_a_form_sent_without_its_csrf_token_gets_a_page_that_explains(web, leader):
    client = web(leader, enforce_csrf_checks=True)
    response = client.post("/grants/new/", {"title": "x"})
    assert response.status_code == 403
    root = page(response)
    _in_layout(root)
    assert root.testid("error-title").text == "The form could not be sent"
    assert not Grant.objects.exists()


def test_only_the_leader_writes_the_completion_report(web, leader, fund_manager, funded):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    response = web(fund_manager).post(f"/grants/{grant.pk}/report/", {"participants": "x"})
    assert response.status_code == 403
    assert "Only the grant's task team leader" in page(response).testid("error-reason").text
