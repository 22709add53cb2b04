"""Test data, made through the services as real data is (STYLE.md 11)."""

import itertools
from datetime import date
from decimal import Decimal

import factory

from partners import services
from partners.models import Country, Partner, PartnerKind

_codes = itertools.count(1)


def unique_code(prefix: str = "P") -> str:
    return f"{prefix}{next(_codes):04d}"


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    code = factory.LazyFunction(lambda: unique_code("P"))
    name = factory.LazyAttribute(lambda o: f"Partner {o.code}")
    kind = PartnerKind.TRADITIONAL_DONOR
    country = None
    joined_on = date(2010, 1, 1)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.partner_create(**kwargs)


def make_country_partner(code: str, kind=PartnerKind.TRADITIONAL_DONOR) -> Partner:
    country = Country.objects.get(code=code)
    return services.partner_create(code=code, name=country.name, kind=kind, country=country)


def make_contribution(
    partner=None,
    *,
    currency="USD",
    pledged_amount="1000000.00",
    pledged_usd=None,
    reference=None,
    **extra,
):
    partner = partner or PartnerFactory()
    return services.contribution_create(
        partner=partner,
        reference=reference or unique_code("C-"),
        currency=currency,
        pledged_amount=Decimal(str(pledged_amount)),
        pledged_usd=Decimal(str(pledged_usd)) if pledged_usd is not None else None,
        **extra,
    )


def make_receipt(contribution, amount, *, usd_amount=None, received_on=date(2011, 1, 1)):
    return services.receipt_record(
        contribution=contribution,
        amount=Decimal(str(amount)),
        usd_amount=Decimal(str(usd_amount)) if usd_amount is not None else None,
        received_on=received_on,
    )


def fund_with(received_usd) -> None:
    """Put this much received money in the fund (one USD pledge, fully paid)."""
    contribution = make_contribution(pledged_amount=received_usd)
    make_receipt(contribution, received_usd)
