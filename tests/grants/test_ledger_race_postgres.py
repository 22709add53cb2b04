"""Issue 14, "Done when": on PostgreSQL, 20 repetitions of a 40-thread race mixing
approvals, disbursements, receipts and their reversals through the services, each
thread on its own connection as the application's own database role (seetf_app), leave
the ledger equal to the records: ``check_fund``'s checks find no drift, and every
success wrote its audit entry.

Each repetition releases 40 threads at once (a Barrier): 10 approvals of fresh
proposals (more than the available money covers, so some get ``insufficient_funds``),
10 disbursements on two approved grants, 10 receipts on one pledge, 5 reversals of
receipts and 5 of disbursements, each reversal's entry asked for twice (one of each
pair gets ``invalid_transition``). Real commits: transaction=True.
"""

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from audit.models import AuditEntry
from grants import services as grant_services
from grants.ledger import ledger_drifts
from grants.models import Disbursement, Grant, GrantHistory, GrantStatus
from partners import services as partner_services
from partners.models import Fund, Receipt
from partners.roles import Role
from seetf.common import dbrole
from seetf.common.errors import ApplicationError
from tests.concurrency import at_once
from tests.conftest import read_afresh
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = Decimal
THREADS = 40
REPETITIONS = 20
REFUSALS = {"insufficient_funds", "invalid_transition", "over_disbursement"}


@pytest.fixture(autouse=True)
def _no_check_after_commit(monkeypatch):
    """Each movement would queue (eagerly: run) the balance check; not raced here."""
    from grants import tasks

    monkeypatch.setattr(tasks.check_fund_balance, "delay", lambda *a, **k: None)


def race(jobs) -> list:
    """Run each job in its own thread, all released at once, each on its own connection
    as the application's role; returns ("ok", action) or ("refused", code) per job."""
    role = connection.ops.quote_name(dbrole.app_role())

    def as_the_application(i):
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {role}")

    def outcome(action, job):
        try:
            job()
            return ("ok", action)
        except ApplicationError as refused:
            return ("refused", refused.code)

    return at_once(
        [lambda _, a=action, j=job: outcome(a, j) for action, job in jobs],
        prepare=as_the_application,
    )


def race_jobs(manager, *, proposals, paying, pledge, receipts, disbursements, reason) -> list:
    """The 40 jobs of one repetition: (audit action, a function calling the service)."""
    jobs = []
    for grant in proposals:  # 10 x 40,000: more than the money received covers
        jobs.append(
            (
                "grant.approve",
                lambda g=grant: grant_services.grant_transition(
                    grant=g, user=manager, action="approve", approved_usd=D("40000.00")
                ),
            )
        )
    for i in range(10):
        jobs.append(
            (
                "disbursement.record",
                lambda i=i: grant_services.disbursement_record(
                    grant=paying[i % 2],
                    user=manager,
                    amount_usd=D("700.00"),
                    disbursed_on=date(2026, 2, 2),
                ),
            )
        )
        jobs.append(
            (
                "receipt.record",
                lambda: partner_services.receipt_record(
                    contribution=pledge,
                    amount=D("9000.00"),
                    received_on=date(2026, 2, 2),
                    recorded_by=manager,
                ),
            )
        )
    # Five reversals of each kind: two entries asked for twice, one once.
    for entry in (receipts[0], receipts[0], receipts[1], receipts[1], receipts[2]):
        jobs.append(
            (
                "receipt.reverse",
                lambda e=entry: partner_services.receipt_reverse(
                    receipt=e, user=manager, reason=reason
                ),
            )
        )
    for entry in (
        disbursements[0],
        disbursements[0],
        disbursements[1],
        disbursements[1],
        disbursements[2],
    ):
        jobs.append(
            (
                "disbursement.reverse",
                lambda e=entry: grant_services.disbursement_reverse(
                    disbursement=e, user=manager, reason=reason
                ),
            )
        )
    return jobs


def test_twenty_races_of_forty_threads_leave_the_ledger_equal_to_the_records(
    make_user, fund_manager
):
    fund_with("250000.00")
    leaders = [make_user(f"race-ttl-{i}", Role.TASK_TEAM_LEADER) for i in range(10)]
    pledge = make_contribution(pledged_amount="100000000.00")
    paying = [
        make_grant(
            leaders[i], GrantStatus.APPROVED, manager=fund_manager, approved_usd=D("100000.00")
        )
        for i in range(2)
    ]
    receipts = [make_receipt(pledge, "1000.00") for _ in range(5)]
    disbursements = [
        grant_services.disbursement_record(
            grant=paying[i % 2],
            user=fund_manager,
            amount_usd=D("500.00"),
            disbursed_on=date(2026, 2, 1),
        )
        for i in range(5)
    ]
    tally = Counter()
    for repetition in range(REPETITIONS):
        proposals = [make_grant(leaders[i], GrantStatus.SUBMITTED) for i in range(10)]
        jobs = race_jobs(
            read_afresh(fund_manager),
            proposals=proposals,
            paying=paying,
            pledge=pledge,
            receipts=receipts,
            disbursements=disbursements,
            reason=f"race {repetition}",
        )
        assert len(jobs) == THREADS

        outcomes = race(jobs)

        assert {code for kind, code in outcomes if kind == "refused"} <= REFUSALS
        # Each entry asked to be reversed twice was reversed once.
        reversed_receipts = sum(
            1 for kind, action in outcomes if (kind, action) == ("ok", "receipt.reverse")
        )
        reversed_disbursements = sum(
            1 for kind, action in outcomes if (kind, action) == ("ok", "disbursement.reverse")
        )
        assert reversed_receipts <= 3 and reversed_disbursements <= 3
        tally.update(action for kind, action in outcomes if kind == "ok")
        tally.update(f"refused {code}" for kind, code in outcomes if kind == "refused")
        assert ledger_drifts() == [], f"repetition {repetition}"
        # Fresh originals to reverse in the next repetition.
        receipts = list(
            Receipt.objects.filter(
                reverses__isnull=True, reversal__isnull=True, amount__gt=0
            ).order_by("-id")[:3]
        )
        disbursements = list(
            Disbursement.objects.filter(reverses__isnull=True, reversal__isnull=True).order_by(
                "-id"
            )[:3]
        )
        assert len(receipts) == 3 and len(disbursements) == 3

    # Every kind of movement both went through and was refused somewhere in the runs.
    for action in (
        "grant.approve",
        "disbursement.record",
        "receipt.record",
        "receipt.reverse",
        "disbursement.reverse",
    ):
        assert tally[action] > 0, tally
        assert AuditEntry.objects.filter(action=action).count() >= tally[action]
    assert tally["refused insufficient_funds"] > 0 and tally["refused invalid_transition"] > 0
    approved = Grant.objects.filter(status=GrantStatus.APPROVED).count()
    assert GrantHistory.objects.filter(action="approve").count() == approved
    assert AuditEntry.objects.filter(action="grant.approve").count() == approved
    fund = Fund.objects.get()
    assert fund.available_usd >= 0 and fund.disbursed_usd <= fund.committed_usd
    assert ledger_drifts() == []
