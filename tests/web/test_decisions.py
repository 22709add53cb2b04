"""The fund managers' other decisions from the grant page, and what each role is offered
there: only the actions the services would accept are shown."""

from datetime import date
from decimal import Decimal

import pytest

from grants.models import GrantStatus
from partners.models import Fund
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant
from tests.web.pages import field_errors, form_data, page

pytestmark = pytest.mark.django_db


def _offered(root) -> set[str]:
    names = {
        "submit-form", "start-review-form", "approve-form", "return-form", "reject-form",
        "cancel-form", "close-form", "disbursement-form", "edit-proposal", "add-exchange",
    }  # fmt: skip
    return {name for name in names if root.find(data_testid=name) is not None}


@pytest.mark.parametrize(
    ("status", "manager_sees", "leader_sees"),
    [
        (GrantStatus.SUBMITTED, {"start-review", "approve", "return", "reject"}, set()),
        (GrantStatus.UNDER_REVIEW, {"approve", "return", "reject"}, set()),
        (GrantStatus.RETURNED, set(), {"submit", "edit-proposal", "add-exchange"}),
        (GrantStatus.APPROVED, {"cancel", "disbursement", "add-exchange"}, {"add-exchange"}),
        (GrantStatus.REJECTED, set(), set()),
    ],
)
def test_each_role_is_offered_the_actions_the_services_allow(
    web, leader, fund_manager, funded, status, manager_sees, leader_sees
):
    grant = make_grant(leader, status, manager=fund_manager)

    def expected(names):
        return {n if n in ("edit-proposal", "add-exchange") else f"{n}-form" for n in names}

    url = f"/grants/{grant.pk}/"
    assert _offered(page(web(fund_manager).get(url))) == expected(manager_sees)
    assert _offered(page(web(leader).get(url))) == expected(leader_sees)


def test_a_donor_is_offered_nothing_and_sees_no_disbursements(
    web, leader, fund_manager, donor, funded
):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    root = page(web(donor).get(f"/grants/{grant.pk}/"))
    assert _offered(root) == set()
    assert root.find(data_testid="disbursements") is None
    assert root.find(data_testid="decisions") is None
    root.testid("history")


def test_start_review_then_reject_with_a_comment(web, leader, fund_manager, funded):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    client = web(fund_manager)
    assert client.post(f"/grants/{grant.pk}/actions/start-review/", {}).status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.UNDER_REVIEW
    # Rejecting is final: without the confirmation it is refused, the comment kept.
    refused = client.post(
        f"/grants/{grant.pk}/actions/reject/", {"comment": "Outside the fund's mandate."}
    )
    assert field_errors(page(refused), "id_reject_confirm") == ["Tick the box to confirm."]
    assert page(refused).testid("reject-details").attrs.get("open") is not None
    grant.refresh_from_db()
    assert grant.status == GrantStatus.UNDER_REVIEW
    response = client.post(
        f"/grants/{grant.pk}/actions/reject/",
        {"comment": "Outside the fund's mandate.", "confirm": "on"},
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REJECTED
    history = page(web(leader).get(f"/grants/{grant.pk}/")).testid("history")
    assert "Outside the fund's mandate." in history.text


def test_cancelling_releases_what_was_not_disbursed(web, leader, fund_manager, funded):
    grant = make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("80000.00")
    )
    client = web(fund_manager)
    client.post(
        f"/grants/{grant.pk}/disbursements/",
        {"amount_usd": "30000", "disbursed_on": "2026-01-15", "purpose": ""},
    )
    committed = Fund.objects.get().committed_usd
    root = page(client.get(f"/grants/{grant.pk}/"))
    assert "50,000.00 USD" in root.testid("cancel-form").text
    refused = client.post(f"/grants/{grant.pk}/actions/cancel/", {"comment": ""})
    assert field_errors(page(refused), "id_cancel_comment") == ["This field is required."]
    assert field_errors(page(refused), "id_cancel_confirm") == ["Tick the box to confirm."]
    response = client.post(
        f"/grants/{grant.pk}/actions/cancel/", {"comment": "Stopped.", "confirm": "on"}
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.CANCELLED
    assert Fund.objects.get().committed_usd == committed - Decimal("50000.00")


def test_a_fund_manager_records_an_exchange_on_an_approved_grant(web, leader, fund_manager, funded):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    client = web(fund_manager)
    url = f"/grants/{grant.pk}/exchanges/new/"
    data = form_data(
        page(client.get(url)),
        "exchange-form",
        instrument="videoconference",
        title="Follow-up call",
        start_date="2026-03-01",
        end_date="2026-03-01",
        participants="5",
        women_participants="6",
    )
    root = page(client.post(url, data))
    assert field_errors(root, "id_women_participants") == ["Cannot be more than the participants."]
    data["women_participants"] = "3"
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == f"/grants/{grant.pk}/#exchanges"
    exchange = grant.exchanges.get()
    assert (exchange.title, exchange.start_date) == ("Follow-up call", date(2026, 3, 1))


def test_editing_a_submitted_proposal_is_refused_with_the_reason(web, leader, funded):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    client = web(leader)
    response = client.get(f"/grants/{grant.pk}/edit/")
    assert response.status_code == 302
    root = page(client.get(response["Location"]))
    assert root.testid("flash-error").text == (
        "A grant is edited only while draft or returned; this one is submitted."
    )


def test_an_unknown_action_is_a_404(web, leader, fund_manager, funded):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    response = web(fund_manager).post(f"/grants/{grant.pk}/actions/complete/", {})
    assert response.status_code == 404


def test_actions_are_posts(web, leader, fund_manager, funded):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    assert web(fund_manager).get(f"/grants/{grant.pk}/actions/approve/").status_code == 405


def test_each_decision_form_has_its_heading_note_and_button(web, leader, fund_manager, funded):
    submitted = make_grant(leader, GrantStatus.SUBMITTED)
    approved = make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("80000.00")
    )
    completed = finished_grant(leader, fund_manager, status=GrantStatus.COMPLETED)
    client = web(fund_manager)
    forms = {}
    for grant in (submitted, approved, completed):
        root = page(client.get(f"/grants/{grant.pk}/"))
        for name in ("start-review", "return", "reject", "cancel", "close"):
            form = root.find(data_testid=f"{name}-form")
            if form is not None:
                assert form.attrs["id"] == name
                assert form.attrs["action"] == f"/grants/{grant.pk}/actions/{name}/"
                forms[name] = form
    expected = {
        "start-review": ("Start the review", "Start the review", "button button--secondary"),
        "return": ("Return for revision", "Return to the leader", "button button--secondary"),
        "reject": ("Reject", "Reject the proposal", "button button--danger"),
        "cancel": ("Cancel the grant", "Cancel the grant", "button button--danger"),
        "close": ("Close the grant", "Close the grant", "button"),
    }
    for name, (heading, label, classes) in expected.items():
        form = forms[name]
        assert form.find("h3").text == heading
        button = form.find("button")
        assert button.text == label
        assert button.attrs["class"] == classes
        assert form.find("textarea", name="comment") is not None
    notes = {name: form.find("p") for name, form in forms.items()}
    assert "80,000.00 USD not yet disbursed" in notes["cancel"].text
    assert "Closing releases the" in notes["close"].text
    assert all(notes[name] is None for name in ("start-review", "return", "reject"))
