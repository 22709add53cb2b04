"""What only a real PostgreSQL shows: row locks between concurrent requests, and the
history table's append-only triggers.

Each concurrent test starts 8 threads together (a Barrier); each thread has its own API
client and so its own database connection, which it closes at the end. The tests commit
for real (transaction=True); tests/conftest.py puts back the reference data (countries,
sectors, role groups, the fund's row) that the flush after each such test removes.
"""

import re
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from grants import services
from grants.models import Disbursement, Grant, GrantHistory, GrantStatus, ReferenceCounter
from grants.selectors import fund_ledger_from_records
from partners.models import Fund
from partners.roles import Role
from seetf.common.models import IdempotencyKey
from tests.concurrency import at_once
from tests.conftest import api_client
from tests.factories import fund_with
from tests.grants.factories import make_grant

S = GrantStatus
D = Decimal
THREADS = 8

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def run_together(user_of, request_of) -> list:
    """Send THREADS requests at once: thread i, as ``user_of(i)``, sends
    ``request_of(i, client)``; returns the responses in thread order."""
    return at_once(
        [lambda client, i=i: request_of(i, client) for i in range(THREADS)],
        prepare=lambda i: api_client(user_of(i)),
    )


def outcome(responses) -> list:
    return sorted(
        (r.status_code, r.json().get("code") if r.status_code >= 400 else None) for r in responses
    )


def test_concurrent_approvals_never_over_commit_the_fund(client_for, make_user, fund_manager):
    fund_with("500000.00")
    leaders = [make_user(f"ttl-{i}", Role.TASK_TEAM_LEADER) for i in range(THREADS)]
    grants = [make_grant(leaders[i], S.SUBMITTED) for i in range(THREADS)]  # 100,000 each

    responses = run_together(
        lambda i: fund_manager,
        lambda i, client: client.post(
            f"/api/v1/grants/{grants[i].pk}/approve/",
            {"approved_usd": "100000.00"},
            format="json",
        ),
    )

    assert outcome(responses) == [(200, None)] * 5 + [(409, "insufficient_funds")] * 3
    approved = [g for g, r in zip(grants, responses, strict=True) if r.status_code == 200]
    assert set(Grant.objects.filter(status=S.APPROVED).values_list("pk", flat=True)) == {
        g.pk for g in approved
    }
    assert Grant.objects.filter(status=S.SUBMITTED, approved_usd__isnull=True).count() == 3
    assert GrantHistory.objects.filter(action="approve").count() == 5
    fund = Fund.objects.get()
    assert fund.committed_usd == D("500000.00")
    assert fund.available_usd == fund.received_usd - fund.committed_usd == 0
    assert fund_ledger_from_records() == {
        "received_usd": D("500000.00"),
        "committed_usd": D("500000.00"),
        "disbursed_usd": D("0.00"),
        "allocated_usd": D("0.00"),
    }
    body = client_for(fund_manager).get("/api/v1/fund/").json()
    assert body["available_usd"] == "0.00"
    assert body["pipeline_usd"] == "300000.00"


def test_concurrent_disbursements_never_exceed_the_approved_amount(leader, fund_manager):
    fund_with("500000.00")
    grant = make_grant(
        leader,
        S.APPROVED,
        manager=fund_manager,
        requested_usd=D("300000.00"),
        approved_usd=D("300000.00"),
    )

    responses = run_together(
        lambda i: fund_manager,
        lambda i, client: client.post(
            f"/api/v1/grants/{grant.pk}/disbursements/",
            {"amount_usd": "50000.00", "disbursed_on": "2026-02-01"},
            format="json",
        ),
    )

    assert outcome(responses) == [(201, None)] * 6 + [(409, "over_disbursement")] * 2
    grant.refresh_from_db()
    assert grant.disbursed_usd == D("300000.00")
    assert Disbursement.objects.filter(grant=grant).count() == 6
    assert Fund.objects.get().disbursed_usd == D("300000.00")
    assert fund_ledger_from_records()["disbursed_usd"] == D("300000.00")


@pytest.mark.parametrize("leaders", ["eight leaders", "one leader"])
def test_concurrent_first_submissions_get_consecutive_references(leaders, make_user):
    if leaders == "one leader":
        owners = [make_user("ttl-only", Role.TASK_TEAM_LEADER)] * THREADS
    else:
        owners = [make_user(f"ttl-{i}", Role.TASK_TEAM_LEADER) for i in range(THREADS)]
    grants = [make_grant(owners[i]) for i in range(THREADS)]

    responses = run_together(
        lambda i: owners[i],
        lambda i, client: client.post(f"/api/v1/grants/{grants[i].pk}/submit/"),
    )

    assert [r.status_code for r in responses] == [200] * THREADS
    references = [r.json()["reference"] for r in responses]
    year = timezone.localdate().year
    assert all(re.fullmatch(rf"SEETF-{year}-\d{{4}}", ref) for ref in references), references
    assert sorted(int(ref[-4:]) for ref in references) == list(range(1, THREADS + 1))
    stored = set(Grant.objects.values_list("reference", flat=True))
    assert stored == set(references)
    assert ReferenceCounter.objects.get(year=year).last_number == THREADS


def test_concurrent_retries_of_one_approval_apply_it_once(leader, fund_manager):
    fund_with("500000.00")
    grant = make_grant(leader, S.SUBMITTED)
    body = {"approved_usd": "100000.00", "comment": "Approved once."}

    responses = run_together(
        lambda i: fund_manager,
        lambda i, client: client.post(
            f"/api/v1/grants/{grant.pk}/approve/",
            body,
            format="json",
            headers={"Idempotency-Key": "approve-grant-once"},
        ),
    )

    assert [r.status_code for r in responses] == [200] * THREADS
    assert all(r.json() == responses[0].json() for r in responses)
    assert responses[0].json()["status"] == S.APPROVED
    assert GrantHistory.objects.filter(grant=grant, action="approve").count() == 1
    assert IdempotencyKey.objects.count() == 1
    assert Fund.objects.get().committed_usd == D("100000.00")


def test_concurrent_approvals_of_one_grant_without_a_key_approve_it_once(leader, fund_manager):
    fund_with("500000.00")
    grant = make_grant(leader, S.SUBMITTED)

    responses = run_together(
        lambda i: fund_manager,
        lambda i, client: client.post(
            f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "100000.00"}, format="json"
        ),
    )

    assert outcome(responses) == [(200, None)] + [(409, "invalid_transition")] * 7
    assert GrantHistory.objects.filter(grant=grant, action="approve").count() == 1
    assert Fund.objects.get().committed_usd == D("100000.00")


# --- The history is append-only ---------------------------------------------------------------


def raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_history_table_refuses_update_and_delete(leader):
    grant = make_grant(leader)
    row = GrantHistory.objects.get(grant=grant)
    before = GrantHistory.objects.filter(pk=row.pk).values().get()

    with pytest.raises(DatabaseError, match="append-only"):
        raw("UPDATE grants_granthistory SET comment = %s WHERE id = %s", ["tampered", row.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        raw("UPDATE grants_granthistory SET to_status = %s", ["approved"])
    with pytest.raises(DatabaseError, match="append-only"):
        raw("DELETE FROM grants_granthistory WHERE id = %s", [row.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            GrantHistory.objects.filter(pk=row.pk).update(actor=None)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            GrantHistory.objects.filter(pk=row.pk).delete()

    assert GrantHistory.objects.filter(pk=row.pk).values().get() == before
    assert GrantHistory.objects.count() == 1


def test_a_correction_is_a_new_row(leader, fund_manager, client_for):
    fund_with("500000.00")
    grant = make_grant(leader, S.SUBMITTED)
    grant = services.grant_transition(
        grant=grant, user=fund_manager, action="return", comment="Budget too hihg."
    )
    wrong = GrantHistory.objects.get(grant=grant, action="return")
    before = GrantHistory.objects.filter(pk=wrong.pk).values().get()
    with transaction.atomic():
        locked = Grant.objects.select_for_update().get(pk=grant.pk)
        services.grant_record_event(
            grant=locked,
            user=fund_manager,
            action="correction",
            comment="The return comment should read: budget too high.",
        )

    assert GrantHistory.objects.filter(pk=wrong.pk).values().get() == before
    history = client_for(leader).get(f"/api/v1/grants/{grant.pk}/history/").json()
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("create", "", "draft"),
        ("submit", "draft", "submitted"),
        ("return", "submitted", "returned"),
        ("correction", "returned", "returned"),
    ]
    assert history[2]["comment"] == "Budget too hihg."
    assert history[3]["actor"] == fund_manager.username
