"""The generated portfolio: deterministic (the same seed gives the same data), realistic
(every status, amounts around USD 100,000, one to five exchanges, money that adds up),
and written through the ledger's totals."""

import hashlib
import statistics
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Sum

from grants.models import (
    Disbursement,
    Exchange,
    Grant,
    GrantHistory,
    GrantStatus,
    ReferenceCounter,
    Reminder,
)
from grants.selectors import fund_ledger_from_records, fund_summary
from partners.models import Contribution, Fund, FundAlert, Receipt
from results.models import OUTCOME_FIELDS, CompletionReport, ConcreteResult, ResultsStory

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def fingerprint() -> str:
    """A digest of everything generated, by natural keys (never primary keys, which
    depend on what the database held before)."""
    grant_key = {
        g["id"]: (g["reference"] or "", g["title"], str(g["created_at"]))
        for g in Grant.objects.values("id", "reference", "title", "created_at")
    }
    parts = []
    parts += sorted(
        (
            grant_key[g["id"]],
            g["status"],
            str(g["requested_usd"]),
            str(g["approved_usd"]),
            str(g["disbursed_usd"]),
            str(g["released_usd"]),
            str(g["planned_start"]),
            str(g["planned_end"]),
            str(g["submitted_at"]),
            str(g["decided_at"]),
            g["task_team_leader__username"],
            g["sector_id"],
            g["region"],
            tuple(g["targeted_outcomes"]),
        )
        for g in Grant.objects.values(
            "id",
            "status",
            "requested_usd",
            "approved_usd",
            "disbursed_usd",
            "released_usd",
            "planned_start",
            "planned_end",
            "submitted_at",
            "decided_at",
            "task_team_leader__username",
            "sector_id",
            "region",
            "targeted_outcomes",
        )
    )
    for relation in ("recipient_countries", "provider_countries", "facilitating_partners"):
        through = getattr(Grant, relation).through
        target = "partner__code" if relation == "facilitating_partners" else "country_id"
        parts += sorted(
            (grant_key[g], c) for g, c in through.objects.values_list("grant_id", target)
        )
    parts += sorted(
        (grant_key[e["grant_id"]], e["title"], str(e["start_date"]), e["status"], e["participants"])
        for e in Exchange.objects.values(
            "grant_id", "title", "start_date", "status", "participants"
        )
    )
    parts += sorted(
        (grant_key[d[0]], str(d[1]), str(d[2]))
        for d in Disbursement.objects.values_list("grant_id", "amount_usd", "disbursed_on")
    )
    parts += sorted(
        (grant_key[h[0]], h[1], str(h[2]), h[3])
        for h in GrantHistory.objects.values_list("grant_id", "action", "at", "actor__username")
    )
    parts += sorted(
        (grant_key[r["grant_id"]], r["rating"], r["lessons"], str(r["accepted_at"]))
        + tuple(r[o] for o in OUTCOME_FIELDS)
        for r in CompletionReport.objects.values(
            "grant_id", "rating", "lessons", "accepted_at", *OUTCOME_FIELDS
        )
    )
    parts += sorted(
        (grant_key[c[0]], c[1], c[2])
        for c in ConcreteResult.objects.values_list("report__grant_id", "kind", "description")
    )
    parts += sorted(
        Contribution.objects.values_list(
            "reference",
            "partner__code",
            "currency",
            "pledged_amount",
            "pledged_usd",
            "received_amount",
            "received_usd",
            "signed_on",
        )
    )
    parts += sorted(
        Receipt.objects.values_list(
            "contribution__reference", "amount", "usd_amount", "received_on"
        )
    )
    parts += sorted(ResultsStory.objects.values_list("slug", "title", "body", "published_at"))
    parts += sorted(
        (grant_key[r[0]], r[1], r[2], r[3], str(r[4]))
        for r in Reminder.objects.values_list(
            "grant_id", "kind", "sequence", "recipient", "sent_at"
        )
    )
    parts += sorted(
        FundAlert.objects.values_list("kind", "raised_at", "resolved_at", "available_usd")
    )
    parts.append(tuple(Fund.objects.values_list("received_usd", "committed_usd", "disbursed_usd")))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def generated_fingerprint(portfolio, grants: int, seed: int) -> str:
    """Generate, take the fingerprint, and roll the portfolio back."""
    try:
        with transaction.atomic():
            portfolio(grants, seed)
            digest = fingerprint()
            raise _Rollback
    except _Rollback:
        pass
    assert not Grant.objects.exists()
    return digest


def test_the_same_seed_gives_the_same_portfolio(portfolio):
    first = generated_fingerprint(portfolio, 60, 7)
    assert generated_fingerprint(portfolio, 60, 7) == first
    assert generated_fingerprint(portfolio, 60, 8) != first


def test_the_portfolio_is_realistic(portfolio):
    summary = portfolio(300)
    grants = Grant.objects.all()
    assert grants.count() == summary.grants == 300

    # Every status of the workflow, most grants closed as in a mature fund.
    statuses = Counter(grants.values_list("status", flat=True))
    assert set(statuses) == set(GrantStatus.values)
    assert statuses[GrantStatus.CLOSED] == max(statuses.values())

    # Requested amounts around USD 100,000; approved never above requested.
    requested = [g for g in grants.values_list("requested_usd", flat=True)]
    assert Decimal("80000") <= statistics.median(requested) <= Decimal("125000")
    assert min(requested) >= Decimal("20000") and max(requested) <= Decimal("400000")
    for approved, asked in grants.filter(approved_usd__isnull=False).values_list(
        "approved_usd", "requested_usd"
    ):
        assert 0 < approved <= asked

    # One to five exchanges each.
    per_grant = grants.annotate(n=Count("exchanges")).values_list("n", flat=True)
    assert min(per_grant) >= 1 and max(per_grant) <= 5

    # Countries: at least one recipient; providers never also recipients.
    for grant in grants.prefetch_related("recipient_countries", "provider_countries"):
        recipients = {c.code for c in grant.recipient_countries.all()}
        assert recipients
        assert not recipients & {c.code for c in grant.provider_countries.all()}

    # References SEETF-YYYY-NNNN for every grant ever submitted, and the counters after
    # them (the next submission gets a new number).
    submitted = grants.exclude(status=GrantStatus.DRAFT)
    assert not submitted.filter(reference__isnull=True).exists()
    assert not grants.filter(status=GrantStatus.DRAFT, reference__isnull=False).exists()
    for reference in submitted.values_list("reference", flat=True):
        year, number = reference.split("-")[1:]
        assert ReferenceCounter.objects.get(year=int(year)).last_number >= int(number)

    # Completion reports with outcomes for completed and closed grants, accepted when
    # closed; a draft report for some approved grants.
    finished = grants.filter(status__in=[GrantStatus.COMPLETED, GrantStatus.CLOSED])
    assert not finished.filter(completion_report__isnull=True).exists()
    assert not finished.filter(completion_report__submitted_at__isnull=True).exists()
    assert not grants.filter(
        status=GrantStatus.CLOSED, completion_report__accepted_at__isnull=True
    ).exists()
    for name in OUTCOME_FIELDS:
        assert CompletionReport.objects.filter(**{name: True}).exists()
    assert ConcreteResult.objects.exists()

    # Money in: pledges in several currencies, receipts adding up to each pledge's
    # received totals, never beyond the pledge.
    assert Contribution.objects.values("currency").distinct().count() >= 5
    for c in Contribution.objects.annotate(
        amount=Sum("receipts__amount"), usd=Sum("receipts__usd_amount")
    ):
        assert c.amount == c.received_amount <= c.pledged_amount
        assert c.usd == c.received_usd

    # Money out: disbursements add up to each grant's disbursed amount; closing and
    # cancelling released the rest.
    for g in grants.filter(approved_usd__isnull=False).annotate(
        paid=Sum("disbursements__amount_usd")
    ):
        assert (g.paid or 0) == g.disbursed_usd
        assert g.disbursed_usd + g.released_usd <= g.approved_usd
        if g.status in (GrantStatus.CLOSED, GrantStatus.CANCELLED):
            assert g.disbursed_usd + g.released_usd == g.approved_usd

    # The ledger is exactly what the records say, and available money is not negative.
    ledger = fund_ledger_from_records()
    fund = Fund.objects.get(pk=1)
    assert ledger == {
        "received_usd": fund.received_usd,
        "committed_usd": fund.committed_usd,
        "disbursed_usd": fund.disbursed_usd,
        "allocated_usd": fund.allocated_usd,
    }
    assert fund.available_usd >= 0
    assert fund_summary()["available_usd"] == fund.available_usd == summary.ledger["available_usd"]

    # Stories, reminders already sent, alerts raised and resolved.
    assert ResultsStory.objects.filter(published=True).exists()
    assert Reminder.objects.filter(sent_at__isnull=False).exists()
    assert not Reminder.objects.filter(sent_at__isnull=True).exists()
    assert FundAlert.objects.filter(resolved_at__isnull=False).exists()

    # Every grant's history starts with its creation and ends in its status.
    for grant in grants.prefetch_related("history"):
        history = list(grant.history.all())
        assert history[0].action == "create"
        assert history[-1].to_status == grant.status


def test_the_command_generates_into_an_empty_database_only(db):
    from io import StringIO

    out = StringIO()
    call_command("generate_portfolio", "--grants", "25", "--seed", "3", stdout=out)
    assert "Generated 25 grants" in out.getvalue()
    with pytest.raises(CommandError, match="already holds"):
        call_command("generate_portfolio", "--grants", "25")
    with pytest.raises(CommandError):
        call_command("generate_portfolio", "--grants", "0")
