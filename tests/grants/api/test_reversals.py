"""Receipts and disbursements corrected by reversing entries through the API (issue 14):
`POST /api/v1/contributions/{id}/receipts/{receipt_id}/reverse/` and
`POST /api/v1/grants/{id}/disbursements/{disbursement_id}/reverse/`, fund managers only,
with the fund's summary, the contribution's and the grant's figures exact afterwards, and
every refusal writing nothing."""

from datetime import date
from decimal import Decimal

import pytest

from grants.models import Disbursement, Grant, GrantHistory, GrantStatus
from grants.services import disbursement_record
from partners.models import Contribution, Receipt
from tests.factories import make_contribution, make_receipt
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db

REASON = {"reason": "Keyed against the wrong pledge."}


@pytest.fixture
def money(leader, fund_manager):
    """A DKK pledge of 1,000 worth 150 USD with a receipt of 400 DKK (60 USD), a USD
    pledge fully paid (100,000), and a grant approved for 80,000 with 30,000 disbursed."""
    dkk = make_contribution(currency="DKK", pledged_amount="1000.00", pledged_usd="150.00")
    receipt = make_receipt(dkk, "400.00", usd_amount="60.00")
    usd = make_contribution(pledged_amount="100000.00")
    usd_receipt = make_receipt(usd, "100000.00")
    grant = make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("80000.00")
    )
    disbursement = disbursement_record(
        grant=grant,
        user=fund_manager,
        amount_usd=Decimal("30000.00"),
        disbursed_on=date(2011, 5, 1),
    )
    return {
        "dkk": dkk,
        "receipt": receipt,
        "usd": usd,
        "usd_receipt": usd_receipt,
        "grant": grant,
        "disbursement": disbursement,
    }


def receipt_url(receipt, contribution=None):
    contribution_id = (contribution or receipt.contribution).pk
    return f"/api/v1/contributions/{contribution_id}/receipts/{receipt.pk}/reverse/"


def disbursement_url(disbursement, grant=None):
    grant_id = (grant or disbursement.grant).pk
    return f"/api/v1/grants/{grant_id}/disbursements/{disbursement.pk}/reverse/"


def fund(client):
    body = client.get("/api/v1/fund/").json()
    return {k: body[k] for k in ("received_usd", "committed_usd", "disbursed_usd", "available_usd")}


def records():
    """Every receipt and disbursement row, and the figures kept from them."""
    return (
        list(Receipt.objects.order_by("pk").values()),
        list(Disbursement.objects.order_by("pk").values()),
        list(Contribution.objects.order_by("pk").values("received_amount", "received_usd")),
        list(Grant.objects.order_by("pk").values("disbursed_usd", "approved_usd")),
    )


def test_a_receipt_reversal(money, client_for, fund_manager):
    client = client_for(fund_manager)
    assert fund(client) == {
        "received_usd": "100060.00",
        "committed_usd": "80000.00",
        "disbursed_usd": "30000.00",
        "available_usd": "20060.00",
    }

    response = client.post(receipt_url(money["receipt"]), REASON, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    reversal = Receipt.objects.get(pk=body["id"])
    assert body == {
        "id": reversal.pk,
        "amount": "-400.00",
        "usd_amount": "-60.00",
        "received_on": date.today().isoformat(),
        "reverses": money["receipt"].pk,
        "reason": REASON["reason"],
    }
    assert reversal.recorded_by == fund_manager
    assert fund(client) == {
        "received_usd": "100000.00",
        "committed_usd": "80000.00",
        "disbursed_usd": "30000.00",
        "available_usd": "20000.00",
    }
    dkk = client.get(f"/api/v1/contributions/{money['dkk'].pk}/").json()
    assert (dkk["received_usd"], dkk["outstanding_usd"], dkk["status"]) == (
        "0.00",
        "150.00",
        "pledged",
    )
    listed = client.get(f"/api/v1/contributions/{money['dkk'].pk}/receipts/").json()["results"]
    assert [(r["amount"], r["reverses"], r["reason"]) for r in listed] == [
        ("400.00", None, ""),
        ("-400.00", money["receipt"].pk, REASON["reason"]),
    ]
    # The pledge can be received again in full, in its currency and in USD.
    again = client.post(
        f"/api/v1/contributions/{money['dkk'].pk}/receipts/",
        {"amount": "1000.00", "usd_amount": "150.00", "received_on": "2011-06-01"},
        format="json",
    )
    assert again.status_code == 201, again.content


def test_a_disbursement_reversal(money, client_for, fund_manager):
    client = client_for(fund_manager)
    grant = money["grant"]

    response = client.post(disbursement_url(money["disbursement"]), REASON, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount_usd"], body["reverses"], body["reason"]) == (
        "-30000.00",
        money["disbursement"].pk,
        REASON["reason"],
    )
    assert Disbursement.objects.get(pk=body["id"]).recorded_by == fund_manager
    assert fund(client) == {
        "received_usd": "100060.00",
        "committed_usd": "80000.00",  # the commitment stays
        "disbursed_usd": "0.00",
        "available_usd": "20060.00",
    }
    detail = client.get(f"/api/v1/grants/{grant.pk}/").json()
    assert (detail["approved_usd"], detail["disbursed_usd"]) == ("80000.00", "0.00")
    listed = client.get(f"/api/v1/grants/{grant.pk}/disbursements/").json()["results"]
    assert [(d["amount_usd"], d["reverses"]) for d in listed] == [
        ("30000.00", None),
        ("-30000.00", money["disbursement"].pk),
    ]
    # Its whole approved amount can be disbursed again.
    again = client.post(
        f"/api/v1/grants/{grant.pk}/disbursements/",
        {"amount_usd": "80000.00", "disbursed_on": "2011-06-01"},
        format="json",
    )
    assert again.status_code == 201, again.content
    assert fund(client)["disbursed_usd"] == "80000.00"


@pytest.mark.parametrize("entry", ["receipt", "disbursement"])
def test_an_entry_is_reversed_once_and_a_reversal_never(money, client_for, entry):
    client = client_for("fund_manager")
    url = receipt_url if entry == "receipt" else disbursement_url
    first = client.post(url(money[entry]), REASON, format="json")
    model = Receipt if entry == "receipt" else Disbursement
    reversal = model.objects.get(pk=first.json()["id"])
    before = records()

    twice = client.post(url(money[entry]), REASON, format="json")
    of_reversal = client.post(url(reversal), REASON, format="json")

    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_transition")
    assert twice.json()["detail"] == f"This {entry} was reversed already."
    assert (of_reversal.status_code, of_reversal.json()["code"]) == (409, "invalid_transition")
    assert "a reversal cannot be reversed" in of_reversal.json()["detail"]
    assert records() == before


def test_a_receipt_reversal_cannot_leave_committed_money_uncovered(money, client_for):
    """Available is 20,060 USD: the 100,000 USD receipt cannot be taken back."""
    before = records()

    response = client_for("fund_manager").post(
        receipt_url(money["usd_receipt"]), REASON, format="json"
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "insufficient_funds"
    assert records() == before


# Who may reverse: API.md's "contributions, receipts: fund_manager write" and
# "grants: fund_manager disburse"; a grant a user may not see is a 404 before any 403.
REFUSALS = {
    "receipt": {"task_team_leader": 403, "donor": 403, "no_role": 403, "anonymous": 401},
    "disbursement": {
        "task_team_leader": 403,  # the grant's own leader
        "other_leader": 403,
        "donor": 403,
        "no_role": 404,  # sees no grant
        "anonymous": 401,
    },
}
REFUSAL_REASONS = {
    "receipt": "Only fund managers may record contributions and receipts.",
    "disbursement": "Only fund managers see and record disbursements.",
}


@pytest.mark.parametrize(
    "entry, role", [(entry, role) for entry, roles in REFUSALS.items() for role in roles]
)
def test_only_fund_managers_reverse(entry, role, money, client_for):
    url = receipt_url if entry == "receipt" else disbursement_url
    before = records()

    response = client_for(role).post(url(money[entry]), REASON, format="json")

    assert response.status_code == REFUSALS[entry][role], response.content
    if response.status_code == 403:
        assert response.json() == {"detail": REFUSAL_REASONS[entry], "code": "permission_denied"}
    assert records() == before


def test_what_the_url_does_not_hold_is_a_404(money, client_for, leader, fund_manager):
    client = client_for(fund_manager)
    draft = make_grant(leader)  # invisible to fund managers
    other = make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("1000.00")
    )
    before = records()

    responses = [
        client.post(disbursement_url(money["disbursement"], grant=draft), REASON, format="json"),
        client.post(disbursement_url(money["disbursement"], grant=other), REASON, format="json"),
        client.post(
            receipt_url(money["receipt"], contribution=money["usd"]), REASON, format="json"
        ),
        client_for(leader).post(
            disbursement_url(money["disbursement"], grant=draft), REASON, format="json"
        ),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 403]
    assert records() == before


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "This field is required."),
        ({"reason": "   "}, "This field may not be blank."),
        ({"reason": "x" * 501}, "Ensure this field has no more than 500 characters."),
    ],
    ids=["missing", "blank", "too long"],
)
@pytest.mark.parametrize("entry", ["receipt", "disbursement"])
def test_a_reason_is_required(entry, body, message, money, client_for):
    url = receipt_url if entry == "receipt" else disbursement_url
    before = records()

    response = client_for("fund_manager").post(url(money[entry]), body, format="json")

    assert response.status_code == 400, response.content
    assert response.json() == {"reason": [message]}
    assert records() == before


def test_a_closed_grants_disbursement_is_not_reversed(money, client_for, fund_manager):
    # A shortcut to a closed grant; on PostgreSQL a status changes only with its history
    # row (grants 0008), so the row is written too.
    Grant.objects.filter(pk=money["grant"].pk).update(status=GrantStatus.CLOSED)
    GrantHistory.objects.create(
        grant=money["grant"],
        actor=fund_manager,
        action="close",
        from_status=money["grant"].status,
        to_status=GrantStatus.CLOSED,
    )
    before = records()

    response = client_for(fund_manager).post(
        disbursement_url(money["disbursement"]), REASON, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert records() == before


@pytest.mark.parametrize("entry", ["receipt", "disbursement"])
def test_a_retry_with_the_same_idempotency_key_reverses_once(entry, money, client_for):
    client = client_for("fund_manager")
    url = (receipt_url if entry == "receipt" else disbursement_url)(money[entry])

    first = client.post(url, REASON, format="json", HTTP_IDEMPOTENCY_KEY="rev-1")
    retry = client.post(url, REASON, format="json", HTTP_IDEMPOTENCY_KEY="rev-1")
    other = client.post(url, {"reason": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="rev-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert (other.status_code, other.json()["code"]) == (409, "duplicate")
    model = Receipt if entry == "receipt" else Disbursement
    assert model.objects.filter(reverses=money[entry]).count() == 1
