"""Recording and reversing money at once, on PostgreSQL: 8 threads record receipts and a
disbursement, and reverse receipts and disbursements (two of them the same entry twice),
and the ledger ends equal to the sums of the records (issue 14). The threads and their
helpers are tests/grants/test_postgres.py's."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from grants.models import Disbursement, Grant, GrantStatus
from grants.selectors import fund_ledger_from_records
from grants.services import disbursement_record
from partners.models import Contribution, Fund, Receipt
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant
from tests.grants.test_postgres import THREADS, outcome, run_together

D = Decimal

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_recording_and_reversing_at_once_keeps_the_ledger_equal_to_the_records(
    leader, fund_manager
):
    fund_with("500000.00")
    pledge = make_contribution(pledged_amount="1000000.00")
    receipts = [make_receipt(pledge, amount) for amount in ("10000", "11000", "12000", "13000")]
    grant = make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=D("100000.00")
    )
    disbursements = [
        disbursement_record(
            grant=grant, user=fund_manager, amount_usd=D(amount), disbursed_on=date(2026, 1, 5)
        )
        for amount in ("5000", "6000", "7000")
    ]
    receipt_url = f"/api/v1/contributions/{pledge.pk}/receipts/"
    reverse_receipt = f"{receipt_url}{{}}/reverse/"
    disbursement_url = f"/api/v1/grants/{grant.pk}/disbursements/"
    reverse_disbursement = f"{disbursement_url}{{}}/reverse/"
    reason = {"reason": "race"}
    requests = [
        (receipt_url, {"amount": "7000.00", "received_on": "2026-01-06"}),
        (receipt_url, {"amount": "7000.00", "received_on": "2026-01-06"}),
        (reverse_receipt.format(receipts[0].pk), reason),
        (reverse_receipt.format(receipts[0].pk), reason),  # the same entry again
        (reverse_receipt.format(receipts[1].pk), reason),
        (reverse_disbursement.format(disbursements[0].pk), reason),
        (reverse_disbursement.format(disbursements[0].pk), reason),  # the same entry again
        (disbursement_url, {"amount_usd": "9000.00", "disbursed_on": "2026-01-06"}),
    ]
    assert len(requests) == THREADS

    responses = run_together(
        lambda i: fund_manager,
        lambda i, client: client.post(requests[i][0], requests[i][1], format="json"),
    )

    assert outcome(responses) == [(201, None)] * 6 + [(409, "invalid_transition")] * 2
    # 546,000 received, + 2 x 7,000 - 10,000 - 11,000; 18,000 disbursed, - 5,000 + 9,000.
    fund = Fund.objects.get()
    assert (fund.received_usd, fund.committed_usd, fund.disbursed_usd) == (
        D("539000.00"),
        D("100000.00"),
        D("22000.00"),
    )
    assert fund_ledger_from_records() == {
        "received_usd": fund.received_usd,
        "committed_usd": fund.committed_usd,
        "disbursed_usd": fund.disbursed_usd,
        "allocated_usd": fund.allocated_usd,
    }
    assert Disbursement.objects.aggregate(total=Sum("amount_usd"))["total"] == fund.disbursed_usd
    assert Grant.objects.get(pk=grant.pk).disbursed_usd == D("22000.00")
    pledge = Contribution.objects.get(pk=pledge.pk)
    assert pledge.received_usd == pledge.received_amount == D("39000.00")
    assert pledge.receipts.aggregate(total=Sum("usd_amount"))["total"] == D("39000.00")
    assert Receipt.objects.filter(reverses=receipts[0]).count() == 1
    assert Disbursement.objects.filter(reverses=disbursements[0]).count() == 1
