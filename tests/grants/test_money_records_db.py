"""What the database itself refuses about money records, whoever writes (raw SQL, a
bulk update, the admin): a contribution credited more USD than its pledge is worth, an
amount of the wrong sign for what the entry is, a second reversal of one entry, and any
UPDATE or DELETE of a receipt or a disbursement (append-only: corrections are reversing
entries). Run on SQLite and on PostgreSQL alike."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from grants.models import Disbursement, GrantStatus
from grants.services import disbursement_record
from partners.models import Contribution, Fund, Receipt
from partners.reference_data import ensure_reference_data
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db


def refused_by_the_database(sql, params=()):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def receipt():
    pledge = make_contribution(currency="DKK", pledged_amount="1000.00", pledged_usd="150.00")
    return make_receipt(pledge, "10.00", usd_amount="1.50")


@pytest.fixture
def disbursement(leader, fund_manager):
    fund_with("100000.00")
    grant = make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("50000.00")
    )
    return disbursement_record(
        grant=grant, user=fund_manager, amount_usd=Decimal("100.00"), disbursed_on=date(2011, 5, 1)
    )


def test_raising_received_usd_past_the_pledges_usd_value_is_refused(receipt):
    pledge = receipt.contribution

    refused_by_the_database(
        "UPDATE partners_contribution SET received_usd = pledged_usd + 0.01 WHERE id = %s",
        [pledge.pk],
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Contribution.objects.filter(pk=pledge.pk).update(received_usd=F("received_usd") + 1000000)

    assert Contribution.objects.get(pk=pledge.pk).received_usd == Decimal("1.50")


TAMPERING = {
    ("receipt", "UPDATE"): "UPDATE partners_receipt SET usd_amount = 1000000 WHERE id = %s",
    ("receipt", "DELETE"): "DELETE FROM partners_receipt WHERE id = %s",
    ("disbursement", "UPDATE"): "UPDATE grants_disbursement SET amount_usd = 1 WHERE id = %s",
    ("disbursement", "DELETE"): "DELETE FROM grants_disbursement WHERE id = %s",
}


@pytest.mark.parametrize("entry, statement", sorted(TAMPERING))
def test_receipts_and_disbursements_refuse_update_and_delete(entry, statement, request):
    record = request.getfixturevalue(entry)
    model = type(record)
    before = list(model.objects.values())

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(TAMPERING[entry, statement], [record.pk])

    assert list(model.objects.values()) == before


def test_the_orm_cannot_update_or_delete_them_either(receipt, disbursement):
    for entry in (receipt, disbursement):
        with pytest.raises(IntegrityError), transaction.atomic():
            type(entry).objects.filter(pk=entry.pk).update(created_at=entry.created_at)
        with pytest.raises(IntegrityError), transaction.atomic():
            type(entry).objects.filter(pk=entry.pk).delete()

    assert Receipt.objects.filter(pk=receipt.pk).exists()
    assert Disbursement.objects.filter(pk=disbursement.pk).exists()


def test_inserts_still_go_through(receipt):
    Receipt.objects.create(
        contribution=receipt.contribution,
        amount=Decimal("1.00"),
        usd_amount=Decimal("0.15"),
        received_on=date(2011, 2, 1),
    )

    assert receipt.contribution.receipts.count() == 2


def _receipt(receipt, **fields):
    values = {
        "contribution": receipt.contribution,
        "amount": Decimal("10.00"),
        "usd_amount": Decimal("1.50"),
        "received_on": date(2011, 2, 1),
        **fields,
    }
    return lambda: Receipt.objects.create(**values)


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": Decimal("-10.00"), "usd_amount": Decimal("-1.50")},  # negative, no original
        {"amount": Decimal("-10.00"), "usd_amount": Decimal("-1.50"), "reason": "typo"},
        {"amount": Decimal("0.00"), "usd_amount": Decimal("0.00")},
        {"reason": "a reason without reversing anything"},
        "reversal, positive",
        "reversal, no reason",
    ],
    ids=str,
)
def test_only_a_reversal_is_negative_and_it_gives_a_reason(receipt, fields):
    if fields == "reversal, positive":
        fields = {"reverses": receipt, "reason": "typo"}
    elif fields == "reversal, no reason":
        fields = {"reverses": receipt, "amount": -receipt.amount, "usd_amount": -receipt.usd_amount}

    with pytest.raises(IntegrityError), transaction.atomic():
        _receipt(receipt, **fields)()

    assert receipt.contribution.receipts.count() == 1


def test_an_entry_is_reversed_at_most_once(receipt, disbursement):
    negative = {"reverses": receipt, "amount": -receipt.amount, "usd_amount": -receipt.usd_amount}
    _receipt(receipt, **negative, reason="typo")()
    with pytest.raises(IntegrityError), transaction.atomic():
        _receipt(receipt, **negative, reason="again")()

    def reverse_disbursement(reason):
        Disbursement.objects.create(
            grant=disbursement.grant,
            amount_usd=-disbursement.amount_usd,
            disbursed_on=date(2011, 5, 2),
            reverses=disbursement,
            reason=reason,
        )

    reverse_disbursement("typo")
    with pytest.raises(IntegrityError), transaction.atomic():
        reverse_disbursement("again")

    assert Receipt.objects.filter(reverses=receipt).count() == 1
    assert Disbursement.objects.filter(reverses=disbursement).count() == 1


def test_a_negative_disbursement_needs_an_original(disbursement):
    with pytest.raises(IntegrityError), transaction.atomic():
        Disbursement.objects.create(
            grant=disbursement.grant, amount_usd=Decimal("-100.00"), disbursed_on=date(2011, 5, 2)
        )

    assert Fund.objects.get(pk=1).disbursed_usd == Decimal("100.00")


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_the_tables_and_keeps_the_triggers():
    """Django's flush (after every transactional test) empties the append-only tables
    past their triggers (the test suite drops them for it, tests/conftest.py) and leaves
    them in place."""
    make_receipt(make_contribution(pledged_amount="10.00"), "10.00")
    call_command("flush", verbosity=0, interactive=False)
    assert not Receipt.objects.exists()
    ensure_reference_data()
    receipt = make_receipt(make_contribution(pledged_amount="10.00"), "10.00")

    refused_by_the_database("DELETE FROM partners_receipt WHERE id = %s", [receipt.pk])


def test_a_reversal_must_mirror_an_original_of_its_parent(receipt, disbursement):
    other = make_receipt(
        make_contribution(currency="DKK", pledged_amount="100.00", pledged_usd="15.00"),
        "10.00",
        usd_amount="1.50",
    )
    negative = {"amount": -receipt.amount, "usd_amount": -receipt.usd_amount, "reason": "typo"}
    refused = {
        "a different amount": _receipt(receipt, reverses=receipt, **{**negative, "amount": -1}),
        "a different USD amount": _receipt(
            receipt, reverses=receipt, **{**negative, "usd_amount": Decimal("-0.01")}
        ),
        "another contribution's receipt": _receipt(receipt, reverses=other, **negative),
    }
    for what, insert in refused.items():
        with pytest.raises(IntegrityError, match="reverse an original entry"), transaction.atomic():
            insert()
        assert not Receipt.objects.filter(reverses__isnull=False).exists(), what

    reversal = _receipt(receipt, reverses=receipt, **negative)()
    with pytest.raises(IntegrityError, match="reverse an original entry"), transaction.atomic():
        _receipt(receipt, reverses=reversal, amount=receipt.amount, usd_amount=receipt.usd_amount)()
    with pytest.raises(IntegrityError, match="reverse an original entry"), transaction.atomic():
        Disbursement.objects.create(
            grant=disbursement.grant,
            amount_usd=Decimal("-99.99"),
            disbursed_on=date(2011, 5, 2),
            reverses=disbursement,
            reason="typo",
        )
