"""Funding windows under concurrent requests, on a real PostgreSQL: the fund's row lock,
then the window's, serialise every movement, so no window and not the fund is ever
over-committed, whatever races whom.

Each test sends 8 requests at once (tests/grants/test_postgres.py ``run_together``: one
thread, client and connection each) and then checks that fund available = received -
committed - allocated, that every figure is non-negative, and that the fund's and each
window's rows equal the sums recomputed from the records."""

from decimal import Decimal

import pytest

from grants.models import Grant, GrantHistory, GrantStatus
from grants.selectors import fund_ledger_from_records, windows_ledger_from_records
from partners.models import Fund, Window, WindowMovement
from partners.roles import Role
from tests.factories import fund_with
from tests.grants.factories import make_grant
from tests.grants.test_postgres import THREADS, outcome, run_together
from tests.windows.factories import make_window

S = GrantStatus
D = Decimal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def ledger_is_exact():
    fund = Fund.objects.get()
    assert fund_ledger_from_records() == {
        "received_usd": fund.received_usd,
        "committed_usd": fund.committed_usd,
        "disbursed_usd": fund.disbursed_usd,
        "allocated_usd": fund.allocated_usd,
    }
    assert fund.available_usd == fund.received_usd - fund.committed_usd - fund.allocated_usd
    for value in (fund.received_usd, fund.committed_usd, fund.allocated_usd, fund.available_usd):
        assert value >= 0
    for window_id, figures in windows_ledger_from_records().items():
        window = Window.objects.get(pk=window_id)
        assert figures == {
            "allocated_usd": window.allocated_usd,
            "committed_usd": window.committed_usd,
            "disbursed_usd": window.disbursed_usd,
            "available_usd": window.available_usd,
        }
        assert window.available_usd >= 0 and window.committed_usd >= 0
    return fund


def approve(grant, amount):
    return lambda i, client: client.post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": amount}, format="json"
    )


def test_concurrent_approvals_in_one_window_never_over_commit_it(make_user, fund_manager):
    fund_with("2000000.00")
    approver = make_user("wm", Role.WINDOW_MANAGER)
    window = make_window(fund_manager, allocate="500000.00", approvers=[(approver, "150000.00")])
    leaders = [make_user(f"ttl-{i}", Role.TASK_TEAM_LEADER) for i in range(THREADS)]
    grants = [make_grant(leaders[i], S.SUBMITTED, window=window) for i in range(THREADS)]

    # Half the approvals by the fund manager, half by the window's approver.
    responses = run_together(
        lambda i: fund_manager if i % 2 else approver,
        lambda i, client: approve(grants[i], "100000.00")(i, client),
    )

    assert outcome(responses) == [(200, None)] * 5 + [(409, "insufficient_funds")] * 3
    assert Grant.objects.filter(status=S.APPROVED).count() == 5
    assert GrantHistory.objects.filter(action="approve").count() == 5
    window.refresh_from_db()
    assert (window.committed_usd, window.available_usd) == (D("500000.00"), D("0.00"))
    fund = ledger_is_exact()
    # The window's commitments came out of its allocation: the fund's own available
    # money never moved.
    assert (fund.committed_usd, fund.allocated_usd, fund.available_usd) == (
        D("500000.00"),
        D("0.00"),
        D("1500000.00"),
    )


def test_approvals_racing_in_two_windows_and_at_fund_level(make_user, fund_manager):
    fund_with("1000000.00")
    a = make_window(fund_manager, code="A", allocate="300000.00")
    b = make_window(fund_manager, code="B", allocate="200000.00")
    # Fund available: 500,000. Window A: 300,000; B: 200,000.
    leaders = [make_user(f"ttl-{i}", Role.TASK_TEAM_LEADER) for i in range(THREADS)]
    plan = [
        (a, "120000.00"),
        (a, "120000.00"),
        (a, "120000.00"),  # A: two of three fit
        (b, "120000.00"),
        (b, "120000.00"),  # B: one of two fits
        (None, "200000.00"),
        (None, "200000.00"),
        (None, "200000.00"),  # the fund: two of three fit
    ]
    grants = [
        make_grant(leaders[i], S.SUBMITTED, window=w, requested_usd=D(amount))
        for i, (w, amount) in enumerate(plan)
    ]

    responses = run_together(
        lambda i: fund_manager, lambda i, client: approve(grants[i], plan[i][1])(i, client)
    )

    by_place = {}
    for (w, _), response in zip(plan, responses, strict=True):
        by_place.setdefault(w.code if w else "fund", []).append(response.status_code)
    assert sorted(by_place["A"]) == [200, 200, 409]
    assert sorted(by_place["B"]) == [200, 409]
    assert sorted(by_place["fund"]) == [200, 200, 409]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_funds"}
    fund = ledger_is_exact()
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.committed_usd, a.available_usd) == (D("240000.00"), D("60000.00"))
    assert (b.committed_usd, b.available_usd) == (D("120000.00"), D("80000.00"))
    assert fund.committed_usd == D("760000.00")
    assert fund.allocated_usd == D("140000.00")
    assert fund.available_usd == D("100000.00")


def test_allocations_racing_approvals_share_the_funds_available_money(make_user, fund_manager):
    fund_with("1000000.00")
    window = make_window(fund_manager, allocate="700000.00")
    # Fund available: 300,000; four allocations and four fund-level approvals of 100,000
    # each race for it: exactly three of the eight get it.
    leaders = [make_user(f"ttl-{i}", Role.TASK_TEAM_LEADER) for i in range(4)]
    grants = [make_grant(leaders[i], S.SUBMITTED) for i in range(4)]

    def request(i, client):
        if i < 4:
            return approve(grants[i], "100000.00")(i, client)
        return client.post(
            f"/api/v1/windows/{window.pk}/allocate/", {"amount_usd": "100000.00"}, format="json"
        )

    responses = run_together(lambda i: fund_manager, request)

    assert outcome(responses) == [(200, None)] * 3 + [(409, "insufficient_funds")] * 5
    approved = sum(r.status_code == 200 for r in responses[:4])
    allocated = sum(r.status_code == 200 for r in responses[4:])
    assert approved + allocated == 3
    fund = ledger_is_exact()
    assert fund.available_usd == 0
    assert fund.committed_usd == D("100000.00") * approved
    window.refresh_from_db()
    assert window.allocated_usd == D("700000.00") + D("100000.00") * allocated
    assert WindowMovement.objects.filter(window=window, kind="allocation").count() == 1 + allocated


def test_allocations_racing_approvals_in_the_same_window(make_user, fund_manager):
    fund_with("1000000.00")
    window = make_window(fund_manager, allocate="100000.00")
    leaders = [make_user(f"ttl-{i}", Role.TASK_TEAM_LEADER) for i in range(4)]
    grants = [make_grant(leaders[i], S.SUBMITTED, window=window) for i in range(4)]

    def request(i, client):
        if i % 2 == 0:
            return approve(grants[i // 2], "100000.00")(i, client)
        return client.post(
            f"/api/v1/windows/{window.pk}/allocate/", {"amount_usd": "100000.00"}, format="json"
        )

    responses = run_together(lambda i: fund_manager, request)

    # Every allocation fits the fund; each approval fits only once allocations came in.
    assert [responses[i].status_code for i in range(1, THREADS, 2)] == [200] * 4
    approvals = [responses[i] for i in range(0, THREADS, 2)]
    assert all(r.status_code in (200, 409) for r in approvals)
    assert all(r.json()["code"] == "insufficient_funds" for r in approvals if r.status_code == 409)
    fund = ledger_is_exact()
    window.refresh_from_db()
    assert window.allocated_usd == D("500000.00")
    assert window.committed_usd == D("100000.00") * sum(r.status_code == 200 for r in approvals)
    assert fund.available_usd == D("500000.00")


def test_a_release_and_a_close_racing_approvals_never_over_release(make_user, fund_manager):
    fund_with("1000000.00")
    window = make_window(fund_manager, allocate="400000.00")
    leaders = [make_user(f"ttl-{i}", Role.TASK_TEAM_LEADER) for i in range(6)]
    grants = [make_grant(leaders[i], S.SUBMITTED, window=window) for i in range(6)]

    def request(i, client):
        if i < 6:
            return approve(grants[i], "100000.00")(i, client)
        if i == 6:
            return client.post(
                f"/api/v1/windows/{window.pk}/release/",
                {"amount_usd": "150000.00"},
                format="json",
            )
        return client.post(f"/api/v1/windows/{window.pk}/close/", {}, format="json")

    responses = run_together(lambda i: fund_manager, request)

    assert responses[7].status_code == 200  # closing always succeeds once
    assert all(r.status_code in (200, 409, 400) for r in responses)
    fund = ledger_is_exact()
    window.refresh_from_db()
    assert window.status == "closed" and window.available_usd == 0
    approved = Grant.objects.filter(status=S.APPROVED).count()
    assert window.committed_usd == D("100000.00") * approved <= D("400000.00")
    assert fund.allocated_usd == 0
    assert fund.available_usd == D("1000000.00") - window.committed_usd
