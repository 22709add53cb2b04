"""Shared set-up for the partners tests: a small world of partners and money, the role
names the permission tables walk (their users and clients: tests/conftest.py), and a
snapshot of what the database holds of money in (to show a refused request changed
nothing)."""

import pytest

from partners.models import Contribution, Fund, Partner, PartnerKind, Receipt
from seetf.common.models import IdempotencyKey
from tests.factories import PartnerFactory, make_contribution, make_receipt

ROLES = ["fund_manager", "task_team_leader", "donor", "no_role", "superuser", "anonymous"]
WRITERS = ["fund_manager", "superuser"]


@pytest.fixture
def world(db):
    """A partner with a EUR pledge, part of it received, and a USD pledge with nothing yet."""
    partner = PartnerFactory(code="WRLD", name="World partner", kind=PartnerKind.MULTILATERAL)
    eur = make_contribution(
        partner,
        currency="EUR",
        pledged_amount="1000.00",
        pledged_usd="1300.00",
        reference="W-EUR",
    )
    receipt = make_receipt(eur, "400.00", usd_amount="540.00")
    usd = make_contribution(partner, pledged_amount="5000.00", reference="W-USD")
    return {"partner": partner, "eur": eur, "usd": usd, "receipt": receipt}


def database_state() -> dict:
    """Everything partners and money in hold, comparable before and after a request."""
    fund = Fund.objects.get(pk=1)
    return {
        "partners": list(
            Partner.objects.order_by("pk").values_list(
                "pk", "code", "name", "kind", "country", "joined_on"
            )
        ),
        "contributions": list(
            Contribution.objects.order_by("pk").values_list(
                "pk",
                "partner",
                "reference",
                "currency",
                "pledged_amount",
                "pledged_usd",
                "received_amount",
                "received_usd",
                "period_start",
                "period_end",
            )
        ),
        "receipts": list(Receipt.objects.order_by("pk").values_list("pk", "amount", "usd_amount")),
        "fund": (fund.received_usd, fund.committed_usd, fund.disbursed_usd),
        "idempotency_keys": IdempotencyKey.objects.count(),
    }


@pytest.fixture
def unchanged(db):
    """``with unchanged(): ...`` fails if the block changed anything of money in."""

    class Unchanged:
        def __enter__(self):
            self.before = database_state()
            return self

        def __exit__(self, *exc):
            if exc[0] is None:
                assert database_state() == self.before, "a refused request wrote something"
            return False

    return Unchanged
