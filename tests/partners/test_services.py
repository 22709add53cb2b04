"""The services for money in and the fund's ledger, and the database constraints that
back them up: even code that skips the services cannot over-receive a pledge or
over-commit the fund."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from partners import services
from partners.models import (
    Contribution,
    Fund,
    Receipt,
    outstanding_usd_expression,
)
from seetf.common.errors import ApplicationError
from tests.factories import PartnerFactory, fund_with, make_contribution, make_receipt

pytestmark = pytest.mark.django_db


def ledger():
    fund = Fund.objects.get(pk=1)
    return fund.received_usd, fund.committed_usd, fund.disbursed_usd


def refused_by_the_database(action):
    with pytest.raises(IntegrityError), transaction.atomic():
        action()


# --- Database constraints --------------------------------------------------------------------


def test_the_database_refuses_receipts_beyond_the_pledge():
    pledge = make_contribution(pledged_amount="1000.00")
    make_receipt(pledge, "1000.00")

    refused_by_the_database(
        lambda: Contribution.objects.filter(pk=pledge.pk).update(
            received_amount=F("pledged_amount") + Decimal("0.01")
        )
    )
    pledge.refresh_from_db()
    assert pledge.received_amount == Decimal("1000.00")


def test_the_database_refuses_a_pledge_cut_below_what_was_received():
    pledge = make_contribution(pledged_amount="1000.00")
    make_receipt(pledge, "600.00")

    refused_by_the_database(
        lambda: Contribution.objects.filter(pk=pledge.pk).update(pledged_amount=Decimal("599.99"))
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"pledged_amount": Decimal("0")},
        {"pledged_usd": Decimal("-1")},
        {"received_usd": Decimal("-0.01")},
        {"period_start": date(2012, 1, 1), "period_end": date(2011, 1, 1)},
    ],
    ids=["zero pledge", "negative USD", "negative received", "period backwards"],
)
def test_the_database_refuses_an_impossible_pledge(changes):
    pledge = make_contribution(pledged_amount="1000.00")

    refused_by_the_database(lambda: Contribution.objects.filter(pk=pledge.pk).update(**changes))


@pytest.mark.parametrize("field", ["amount", "usd_amount"])
def test_the_database_refuses_a_receipt_of_nothing(field):
    pledge = make_contribution(pledged_amount="1000.00")
    values = {"amount": Decimal("1.00"), "usd_amount": Decimal("1.00"), field: Decimal("0")}

    refused_by_the_database(
        lambda: Receipt.objects.create(contribution=pledge, received_on=date(2011, 1, 1), **values)
    )


def test_the_database_refuses_to_over_commit_the_fund():
    fund_with("1000.00")

    refused_by_the_database(
        lambda: Fund.objects.filter(pk=1).update(committed_usd=F("received_usd") + 1)
    )
    assert ledger() == (Decimal("1000.00"), Decimal("0.00"), Decimal("0.00"))


@pytest.mark.parametrize(
    "changes",
    [
        {"disbursed_usd": F("committed_usd") + 1},
        {"received_usd": Decimal("-1")},
        {"committed_usd": Decimal("-1")},
    ],
    ids=["disbursed beyond committed", "negative received", "negative committed"],
)
def test_the_database_keeps_the_ledger_sane(changes):
    fund_with("1000.00")
    with transaction.atomic():
        services.fund_commit(amount_usd=Decimal("400.00"))

    refused_by_the_database(lambda: Fund.objects.filter(pk=1).update(**changes))
    assert ledger() == (Decimal("1000.00"), Decimal("400.00"), Decimal("0.00"))


def test_the_fund_has_one_row():
    refused_by_the_database(lambda: Fund.objects.create(id=2))


# --- The fund's ledger -----------------------------------------------------------------------


def test_committing_beyond_what_is_available_is_insufficient_funds():
    fund_with("1000.00")
    with transaction.atomic():
        services.fund_commit(amount_usd=Decimal("600.00"))

    with pytest.raises(ApplicationError) as refused, transaction.atomic():
        services.fund_commit(amount_usd=Decimal("400.01"))

    assert refused.value.code == "insufficient_funds"
    assert refused.value.status == 409
    assert refused.value.message == (
        "The fund has 400.00 USD available; 400.01 USD cannot be committed."
    )
    assert ledger() == (Decimal("1000.00"), Decimal("600.00"), Decimal("0.00"))


def test_committing_exactly_what_is_available_leaves_zero():
    fund_with("1000.00")

    with transaction.atomic():
        fund = services.fund_commit(amount_usd=Decimal("1000.00"))

    assert fund.available_usd == Decimal("0.00")
    with pytest.raises(ApplicationError), transaction.atomic():
        services.fund_commit(amount_usd=Decimal("0.01"))


def test_release_and_disburse_move_the_ledger():
    fund_with("1000.00")

    with transaction.atomic():
        services.fund_commit(amount_usd=Decimal("700.00"))
        services.fund_disburse(amount_usd=Decimal("300.00"))
        fund = services.fund_release(amount_usd=Decimal("150.00"))

    assert ledger() == (Decimal("1000.00"), Decimal("550.00"), Decimal("300.00"))
    assert fund.available_usd == Decimal("450.00")


@pytest.mark.django_db(transaction=True)
def test_the_ledger_lock_needs_a_transaction():
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        services.fund_lock()
    with pytest.raises(RuntimeError):
        services.fund_commit(amount_usd=Decimal("1.00"))


# --- Pledges and receipts --------------------------------------------------------------------


def test_a_receipt_credits_the_pledge_and_the_fund(fund_manager):
    pledge = make_contribution(currency="DKK", pledged_amount="3000000.00", pledged_usd="540000.00")

    receipt = services.receipt_record(
        contribution=pledge,
        amount=Decimal("1000000.00"),
        usd_amount=Decimal("181234.56"),
        received_on=date(2011, 10, 31),
        recorded_by=fund_manager,
    )

    pledge.refresh_from_db()
    assert (pledge.received_amount, pledge.received_usd) == (
        Decimal("1000000.00"),
        Decimal("181234.56"),
    )
    assert (pledge.status, pledge.outstanding_usd) == ("partially_received", Decimal("360000.00"))
    assert receipt.recorded_by == fund_manager
    assert ledger() == (Decimal("181234.56"), Decimal("0.00"), Decimal("0.00"))


def test_a_usd_receipt_credits_its_amount():
    pledge = make_contribution(pledged_amount="500.00")

    receipt = services.receipt_record(
        contribution=pledge, amount=Decimal("500.00"), received_on=date(2011, 1, 1)
    )

    assert receipt.usd_amount == Decimal("500.00")
    pledge.refresh_from_db()
    assert (pledge.status, pledge.outstanding_usd) == ("received", Decimal("0.00"))


@pytest.mark.parametrize(
    "currency, amount, usd_amount, field",
    [
        ("EUR", "100.00", None, "usd_amount"),
        ("USD", "100.00", "99.00", "usd_amount"),
        ("EUR", "1000.01", "1300.00", "amount"),
        ("EUR", "0", "1.00", "amount"),
        ("EUR", "1.00", "0", "usd_amount"),
        ("EUR", "1.001", "1.00", "amount"),
        ("EUR", "1.00", "1000000000.01", "usd_amount"),
    ],
)
def test_a_receipt_that_cannot_be_is_refused(currency, amount, usd_amount, field):
    pledge = make_contribution(
        currency=currency,
        pledged_amount="1000.00",
        pledged_usd=None if currency == "USD" else "1300.00",
    )

    with pytest.raises(ValidationError) as refused:
        services.receipt_record(
            contribution=pledge,
            amount=Decimal(amount),
            usd_amount=Decimal(usd_amount) if usd_amount else None,
            received_on=date(2011, 1, 1),
        )

    assert set(refused.value.message_dict) == {field}
    assert not Receipt.objects.exists()
    assert ledger() == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))


def test_a_receipt_beyond_the_outstanding_says_to_amend_the_pledge():
    pledge = make_contribution(currency="EUR", pledged_amount="1000.00", pledged_usd="1300.00")
    make_receipt(pledge, "999.99", usd_amount="1299.99")

    with pytest.raises(ValidationError) as refused:
        make_receipt(pledge, "0.02", usd_amount="0.03")

    assert refused.value.message_dict == {
        "amount": ["Only 0.01 EUR of this pledge is outstanding; amend the pledge first."]
    }


def test_a_pledge_is_recorded_with_its_usd_value():
    partner = PartnerFactory()

    usd = services.contribution_create(
        partner=partner, reference="A", currency="usd", pledged_amount=Decimal("10.00")
    )
    eur = services.contribution_create(
        partner=partner,
        reference="B",
        currency="EUR",
        pledged_amount=Decimal("10.00"),
        pledged_usd=Decimal("13.50"),
    )

    assert (usd.currency, usd.pledged_usd) == ("USD", Decimal("10.00"))
    assert (eur.currency, eur.pledged_usd, eur.status) == ("EUR", Decimal("13.50"), "pledged")


@pytest.mark.parametrize(
    "fields, error_field",
    [
        ({"reference": "TAKEN"}, "reference"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "EUR"}, "pledged_usd"),
        ({"pledged_usd": Decimal("9.00")}, "pledged_usd"),
        ({"pledged_amount": Decimal("-1")}, "pledged_amount"),
        ({"period_start": date(2012, 1, 1), "period_end": date(2011, 1, 1)}, "period_end"),
    ],
)
def test_a_pledge_that_cannot_be_is_refused(fields, error_field):
    partner = PartnerFactory()
    make_contribution(partner, reference="TAKEN")
    arguments = {
        "partner": partner,
        "reference": "NEW",
        "currency": "USD",
        "pledged_amount": Decimal("10.00"),
        **fields,
    }

    with pytest.raises(ValidationError) as refused:
        services.contribution_create(**arguments)

    assert error_field in refused.value.message_dict
    assert Contribution.objects.count() == 1


def test_amending_a_pledge():
    pledge = make_contribution(currency="EUR", pledged_amount="1000.00", pledged_usd="1300.00")
    make_receipt(pledge, "400.00", usd_amount="540.00")

    with pytest.raises(ValidationError) as below:
        services.contribution_update(contribution=pledge, pledged_amount=Decimal("399.99"))
    with pytest.raises(ValidationError) as currency:
        services.contribution_update(contribution=pledge, currency="GBP")
    with pytest.raises(ValidationError) as below_usd:
        services.contribution_update(contribution=pledge, pledged_usd=Decimal("539.99"))
    amended = services.contribution_update(
        contribution=pledge, pledged_amount=Decimal("400.00"), pledged_usd=Decimal("540.00")
    )

    assert set(below.value.message_dict) == {"pledged_amount"}
    assert set(currency.value.message_dict) == {"currency"}
    assert set(below_usd.value.message_dict) == {"pledged_usd"}
    assert (amended.status, amended.outstanding_usd) == ("received", Decimal("0.00"))


def test_amending_a_usd_pledge_keeps_its_usd_value_equal():
    pledge = make_contribution(pledged_amount="1000.00")

    amended = services.contribution_update(contribution=pledge, pledged_amount=Decimal("1500.00"))

    assert amended.pledged_usd == Decimal("1500.00")
    assert Contribution.objects.get(pk=pledge.pk).pledged_usd == Decimal("1500.00")


@pytest.mark.parametrize(
    "service, target",
    [(services.contribution_update, "contribution"), (services.partner_update, "partner")],
)
def test_services_refuse_fields_they_do_not_own(service, target):
    pledge = make_contribution()
    obj = pledge if target == "contribution" else pledge.partner

    with pytest.raises(ValueError, match="cannot set"):
        service(**{target: obj, "received_amount" if target == "contribution" else "id": 1})


# --- The derived numbers agree, in Python and in SQL -----------------------------------------


@pytest.mark.parametrize(
    "pledged, pledged_usd, received",
    [
        ("100000.00", "104166.67", "33333.33"),
        ("3000000.00", "540000.00", "1000000.00"),
        ("7.00", "9.99", "3.00"),
        ("1000.00", "1300.00", "0"),
        ("1000.00", "1300.00", "1000.00"),
    ],
)
def test_outstanding_and_status_agree_in_python_and_in_the_database(pledged, pledged_usd, received):
    pledge = make_contribution(currency="CHF", pledged_amount=pledged, pledged_usd=pledged_usd)
    if Decimal(received):
        make_receipt(pledge, received, usd_amount="1.00")

    row = (
        Contribution.objects.with_status()
        .annotate(outstanding=outstanding_usd_expression())
        .get(pk=pledge.pk)
    )

    assert row.status_value == row.status
    assert row.outstanding.quantize(Decimal("0.01")) == row.outstanding_usd
