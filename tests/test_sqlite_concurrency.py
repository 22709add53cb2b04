"""SQLite, the embedded default, under concurrent writers.

SQLite has no row locks: `select_for_update()` does nothing there, and two transactions
that both read and then write fail with "database is locked" unless each takes the
write lock when it begins. The settings make every transaction IMMEDIATE with a busy
timeout (seetf/settings/base.py), so writers queue instead. These tests send receipts
from eight threads at once through the API, each thread with its own connection to the
test database (a file, see seetf/settings/test.py), and check that every request is
answered properly and that the money adds up.

PostgreSQL has row locks and its own concurrency tests (marked `postgres`).
"""

import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections

from partners.models import Contribution, Fund
from tests.conftest import api_client
from tests.factories import PartnerFactory, make_contribution

THREADS = 8

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="SQLite's locking only: PostgreSQL's row locks have their own tests",
    ),
    # Real commits from several connections (tests/conftest.py puts back the role groups
    # and the fund's ledger row that the migrations create).
    pytest.mark.django_db(transaction=True),
]


def post_at_once(user_pk: int, requests: list[tuple[str, dict]]) -> list[dict]:
    """POST each (url, body) from its own thread, all released at the same moment by a
    barrier; return what each got: status, body, or the exception it raised."""
    barrier = threading.Barrier(len(requests))
    outcomes: list[dict] = [{} for _ in requests]

    def post(index: int, url: str, body: dict) -> None:
        try:
            # Its own user object: nothing is shared between threads but the database.
            client = api_client(get_user_model().objects.get(pk=user_pk))
            barrier.wait(timeout=30)
            response = client.post(url, body, format="json")
            outcomes[index] = {"status": response.status_code, "body": response.content.decode()}
        except Exception as exc:  # reported by the test below, with the thread it failed in
            outcomes[index] = {"status": None, "body": f"{type(exc).__name__}: {exc}"}
        finally:
            connections.close_all()  # this thread's connection, before the thread ends

    threads = [
        threading.Thread(target=post, args=(index, url, body), name=f"receipt-{index}")
        for index, (url, body) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    for outcome in outcomes:
        assert "locked" not in outcome["body"], outcome
        assert outcome["status"] is not None and outcome["status"] < 500, outcome
    return outcomes


def receipt_body(amount: str) -> dict:
    return {"amount": amount, "received_on": "2011-06-01"}


@pytest.fixture
def manager_pk(make_user):
    return make_user("fm-concurrent", "fund_manager").pk


def test_receipts_for_different_pledges_at_once_are_all_recorded(manager_pk):
    partner = PartnerFactory()
    pledges = [make_contribution(partner, pledged_amount="100000.00") for _ in range(THREADS)]
    fund_before = Fund.objects.get(pk=1).received_usd

    outcomes = post_at_once(
        manager_pk,
        [(f"/api/v1/contributions/{c.pk}/receipts/", receipt_body("2500.00")) for c in pledges],
    )

    assert [outcome["status"] for outcome in outcomes] == [201] * THREADS, outcomes
    for contribution in pledges:
        contribution.refresh_from_db()
        assert contribution.received_usd == Decimal("2500.00")
        assert contribution.receipts.count() == 1
    assert Fund.objects.get(pk=1).received_usd == fund_before + Decimal("2500.00") * THREADS


def test_receipts_for_one_large_pledge_at_once_are_all_recorded(manager_pk):
    pledge = make_contribution(PartnerFactory(), pledged_amount="1000000.00")
    fund_before = Fund.objects.get(pk=1).received_usd
    url = f"/api/v1/contributions/{pledge.pk}/receipts/"

    outcomes = post_at_once(manager_pk, [(url, receipt_body("1250.25"))] * THREADS)

    assert [outcome["status"] for outcome in outcomes] == [201] * THREADS, outcomes
    pledge = Contribution.objects.get(pk=pledge.pk)
    assert pledge.receipts.count() == THREADS
    assert pledge.received_usd == Decimal("1250.25") * THREADS
    assert sum(r.usd_amount for r in pledge.receipts.all()) == Decimal("10002.00")
    assert Fund.objects.get(pk=1).received_usd == fund_before + Decimal("10002.00")


def test_receipts_racing_past_the_pledge_never_exceed_it(manager_pk):
    """Eight receipts of 1,000 against a pledge of 5,000: five fit. The others get 400 on
    `amount` (API.md), whichever order the writers take the lock in."""
    pledge = make_contribution(PartnerFactory(), pledged_amount="5000.00")
    url = f"/api/v1/contributions/{pledge.pk}/receipts/"

    outcomes = post_at_once(manager_pk, [(url, receipt_body("1000.00"))] * THREADS)

    statuses = sorted(outcome["status"] for outcome in outcomes)
    assert statuses == [201] * 5 + [400] * 3, outcomes
    for outcome in outcomes:
        if outcome["status"] == 400:
            assert '"amount"' in outcome["body"], outcome
    pledge = Contribution.objects.get(pk=pledge.pk)
    assert pledge.receipts.count() == 5
    assert pledge.received_usd == pledge.pledged_usd == Decimal("5000.00")
