"""A property of the ledger: after any sequence of receipts, allocations, approvals,
disbursements, cancellations, closings (of grants and of windows) and releases, the
fund's row and each window's row equal the sums recomputed from the records, nothing is
below zero, fund available = received - committed - allocated, and each movement was
accepted exactly when the money was there (a model of the balances, kept beside).

Hypothesis draws the sequences; each example runs in a transaction rolled back at its
end, so examples do not see each other's money."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grants import services as grant_services
from grants.models import GrantStatus
from partners import services
from results import services as results_services
from seetf.common.errors import ApplicationError
from tests.factories import make_contribution, make_receipt
from tests.grants.factories import REPORT, make_grant
from tests.windows.factories import make_window
from tests.windows.test_postgres_windows import ledger_is_exact

D = Decimal
S = GrantStatus
pytestmark = pytest.mark.django_db

# Amounts in thousands of USD: few enough values that balances often run out.
amounts = st.integers(min_value=1, max_value=20).map(lambda k: D(k * 10000))
windows = st.sampled_from([None, 0, 1])  # the fund itself, or one of two windows
grant_ids = st.integers(min_value=0, max_value=5)

steps = st.one_of(
    st.tuples(st.just("receipt"), amounts),
    st.tuples(st.just("allocate"), st.sampled_from([0, 1]), amounts),
    st.tuples(st.just("release"), st.sampled_from([0, 1]), amounts),
    st.tuples(st.just("close_window"), st.sampled_from([0, 1])),
    st.tuples(st.just("approve"), windows, amounts),
    st.tuples(st.just("disburse"), grant_ids, amounts),
    st.tuples(st.just("cancel"), grant_ids),
    st.tuples(st.just("close_grant"), grant_ids),
)


class Model:
    """The balances as the contract defines them, to say which movements must succeed."""

    def __init__(self):
        self.received = D(0)
        self.committed = D(0)
        self.allocated = [D(0), D(0)]  # per window: allocated money
        self.window_committed = [D(0), D(0)]
        self.open = [True, True]

    @property
    def fund_available(self):
        windows_available = sum(
            a - c for a, c in zip(self.allocated, self.window_committed, strict=True)
        )
        return self.received - self.committed - windows_available

    def window_available(self, i):
        return self.allocated[i] - self.window_committed[i]


def _try(call, **kwargs) -> bool:
    """Whether ``call(**kwargs)`` was accepted (a refusal writes nothing: its savepoint
    rolls back)."""
    try:
        with transaction.atomic():
            call(**kwargs)
    except (ApplicationError, ValidationError):
        return False
    return True


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(steps, min_size=1, max_size=25))
def test_the_ledger_matches_the_records_after_every_step(sequence, fund_manager, leader):
    with transaction.atomic():
        run(sequence, fund_manager, leader)
        transaction.set_rollback(True)


def run(sequence, manager, leader):
    contribution = make_contribution(pledged_amount="100000000.00")
    make_receipt(contribution, "600000.00")
    model = Model()
    model.received = D("600000.00")
    # Both windows start with 150,000 each, so that grants in windows come early.
    the_windows = [
        make_window(manager, code="P0", max_grant_usd=D("400000.00"), allocate="150000.00"),
        make_window(manager, code="P1", max_grant_usd=D("400000.00"), allocate="150000.00"),
    ]
    model.allocated = [D("150000.00"), D("150000.00")]
    grants = []  # (grant id, window index or None)
    for step in sequence:
        kind, *args = step
        if kind == "receipt":
            (amount,) = args
            assert _try(make_receipt, contribution=contribution, amount=amount)
            model.received += amount
        elif kind == "allocate":
            i, amount = args
            fits = model.open[i] and amount <= model.fund_available
            done = _try(
                services.window_allocate, window=the_windows[i], user=manager, amount_usd=amount
            )
            assert done == fits, step
            if done:
                model.allocated[i] += amount
        elif kind == "release":
            i, amount = args
            fits = amount <= model.window_available(i)
            done = _try(
                services.window_release, window=the_windows[i], user=manager, amount_usd=amount
            )
            assert done == fits, step
            if done:
                model.allocated[i] -= amount
        elif kind == "close_window":
            (i,) = args
            done = _try(services.window_close, window=the_windows[i], user=manager)
            assert done == model.open[i], step
            if done:
                model.allocated[i] = model.window_committed[i]
                model.open[i] = False
        elif kind == "approve":
            where, amount = args
            window = the_windows[where] if where is not None else None
            if where is not None and not model.open[where]:
                # A closed window takes no proposals.
                assert not _try(
                    make_grant,
                    leader=leader,
                    status=S.SUBMITTED,
                    window=window,
                    requested_usd=amount,
                )
                continue
            grant = make_grant(leader, S.SUBMITTED, window=window, requested_usd=amount)
            available = model.fund_available if where is None else model.window_available(where)
            done = _try(
                grant_services.grant_transition,
                grant=grant,
                user=manager,
                action="approve",
                approved_usd=amount,
            )
            assert done == (amount <= available), step
            if done:
                model.committed += amount
                if where is not None:
                    model.window_committed[where] += amount
                grants.append((grant.pk, where))
        elif kind in ("disburse", "cancel", "close_grant") and grants:
            index, *rest = args
            grant_id, where = grants[index % len(grants)]
            grant = grant_services.Grant.objects.get(pk=grant_id)
            if kind == "disburse":
                (amount,) = rest
                _try(
                    grant_services.disbursement_record,
                    grant=grant,
                    user=manager,
                    amount_usd=amount,
                    disbursed_on=date(2026, 2, 1),
                )
            else:
                release = grant.undisbursed_usd if grant.status == S.APPROVED else D(0)

                def finish(grant, kind):
                    if kind == "cancel":
                        grant_services.grant_transition(
                            grant=grant, user=manager, action="cancel", comment="Stopped."
                        )
                        return
                    results_services.completion_report_save(grant=grant, user=leader, **REPORT)
                    results_services.completion_report_submit(grant=grant, user=leader)
                    results_services.completion_report_accept(grant=grant, user=manager)
                    grant_services.grant_transition(grant=grant, user=manager, action="close")

                if _try(finish, grant=grant, kind=kind):
                    model.committed -= release
                    if where is not None:
                        model.window_committed[where] -= release
                        if not model.open[where]:
                            # Back to the fund through the closed window.
                            model.allocated[where] -= release
        fund = ledger_is_exact()
        assert fund.received_usd == model.received
        assert fund.committed_usd == model.committed
        assert fund.available_usd == model.fund_available
        for i, w in enumerate(the_windows):
            w.refresh_from_db()
            assert (w.allocated_usd, w.committed_usd) == (
                model.allocated[i],
                model.window_committed[i],
            )
