"""What the IATI files say, read from the database in batches.

A grant's activity needs its countries, partners, decisions, disbursements, exchanges,
completion report and published stories. They are read for a batch of grants at a time
(the grants' columns, then one query per related table for the whole batch), walking the
grants by id (keyset: ``id > last``), so that memory stays bounded whatever the size of
the portfolio and the number of queries grows with the batches, not the grants.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal

from django.db.models import F

from documents.selectors import public_documents
from grants.models import (
    APPROVED_AND_LATER,
    Disbursement,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
)
from partners.models import Contribution, Partner, PartnerKind, Receipt
from results.models import OUTCOME_FIELDS, CompletionReport, ResultsStory

from . import codes

BATCH_SIZE = 500
HUNDRED = Decimal("100.00")
CENT = Decimal("0.01")


# --- Arithmetic ------------------------------------------------------------------------------


def largest_remainder(total: Decimal, weights: list[int | Decimal]) -> list[Decimal]:
    """``total`` split in proportion to ``weights``, to the cent, summing to ``total``
    exactly: each share rounded down, then the cents left over given one each to the
    shares with the largest remainders (ties: the first)."""
    if not weights:
        return []
    cents = int((total / CENT).to_integral_value())
    weight_sum = sum(Decimal(w) for w in weights)
    if weight_sum == 0:
        weights, weight_sum = [1] * len(weights), Decimal(len(weights))
    exact = [Decimal(cents) * Decimal(w) / weight_sum for w in weights]
    floors = [int(x.to_integral_value(rounding=ROUND_DOWN)) for x in exact]
    left = cents - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(c) * CENT for c in floors]


def percentages(count: int) -> list[Decimal]:
    """``count`` equal shares of 100 on two decimals, summing to exactly 100.00."""
    return largest_remainder(HUNDRED, [1] * count)


def fiscal_year_start(day: date, first_month: int) -> date:
    year = day.year if day.month >= first_month else day.year - 1
    return date(year, first_month, 1)


def fiscal_year_end(start: date) -> date:
    """The last day of the fiscal year starting on ``start``."""
    year, month = (start.year + 1, start.month - 1) if start.month > 1 else (start.year, 12)
    return date(year, month, calendar.monthrange(year, month)[1])


def fiscal_periods(start: date, end: date, first_month: int) -> list[tuple[date, date]]:
    """[start, end] cut at the fiscal years' boundaries: no period longer than a year."""
    periods = []
    cursor = start
    while cursor <= end:
        year_end = fiscal_year_end(fiscal_year_start(cursor, first_month))
        periods.append((cursor, min(year_end, end)))
        cursor = date.fromordinal(year_end.toordinal() + 1)
    return periods


def partner_org_type(partner: dict) -> str:
    """The partner's IATI OrganisationType: its own, else from its kind."""
    if partner.get("iati_org_type"):
        return partner["iati_org_type"]
    return {
        PartnerKind.MULTILATERAL: codes.ORG_TYPE_MULTILATERAL,
        PartnerKind.PRIVATE: codes.ORG_TYPE_FOUNDATION,
    }.get(partner.get("kind"), codes.ORG_TYPE_GOVERNMENT)


# --- A grant ---------------------------------------------------------------------------------


@dataclass
class GrantFacts:
    id: int
    reference: str | None
    title: str
    summary: str
    development_goal: str
    sector: str
    region: str
    status: str
    approved_usd: Decimal | None
    released_usd: Decimal
    disbursed_usd: Decimal
    planned_start: date
    planned_end: date
    decided_at: datetime | None
    updated_at: datetime
    targeted_outcomes: list
    recipients: list[dict] = field(default_factory=list)  # {code, alpha2, name}
    providers: list[dict] = field(default_factory=list)
    partners: list[dict] = field(default_factory=list)  # facilitating partners
    events: dict = field(default_factory=dict)  # action -> its last datetime
    disbursements: list[dict] = field(default_factory=list)
    exchanges: list[dict] = field(default_factory=list)  # held ones
    report: dict | None = None
    stories: list[dict] = field(default_factory=list)
    documents: list[dict] = field(default_factory=list)  # published with a story

    @property
    def approved_on(self) -> date | None:
        at = self.decided_at or self.events.get("approve")
        return at.date() if at else None

    @property
    def released_on(self) -> date | None:
        """When cancelling or closing gave money back."""
        for action in ("cancel", "close"):
            if action in self.events:
                return self.events[action].date()
        return None

    @property
    def actual_end(self) -> date | None:
        """A completed grant's end is its completion; a closed one's too (or its closing,
        when no completion was recorded); a cancelled one's, its cancellation."""
        for action in ("complete", "close", "cancel"):
            if action in self.events and self.status != "approved":
                return self.events[action].date()
        return None

    @property
    def actual_start(self) -> date | None:
        """The first exchange held or the first money paid out, whichever came first."""
        days = [e["start_date"] for e in self.exchanges]
        days += [d["disbursed_on"] for d in self.disbursements if d["reverses_id"] is None]
        if not days:
            return None
        start = min(days)
        end = self.actual_end
        return min(start, end) if end else start


GRANT_COLUMNS = [
    "id",
    "reference",
    "title",
    "summary",
    "development_goal",
    "sector_id",
    "region",
    "status",
    "approved_usd",
    "released_usd",
    "disbursed_usd",
    "planned_start",
    "planned_end",
    "decided_at",
    "updated_at",
    "targeted_outcomes",
]


def published_grants():
    """The grants that have an activity: approved and later (never drafts, submitted,
    under review, returned or rejected ones)."""
    return Grant.objects.filter(status__in=APPROVED_AND_LATER)


def grant_batches(grants=None, batch_size: int = BATCH_SIZE) -> Iterator[list[GrantFacts]]:
    """Every published grant's facts, ``batch_size`` grants at a time, by id."""
    grants = published_grants() if grants is None else grants
    last = 0
    while True:
        rows = list(grants.filter(id__gt=last).order_by("id").values(*GRANT_COLUMNS)[:batch_size])
        if not rows:
            return
        last = rows[-1]["id"]
        yield _facts(rows)


def _facts(rows: list[dict]) -> list[GrantFacts]:
    by_id = {}
    for row in rows:
        row = dict(row)
        row["sector"] = row.pop("sector_id")
        by_id[row["id"]] = GrantFacts(**row)
    ids = list(by_id)
    countries = Grant.recipient_countries.through.objects.filter(grant_id__in=ids)
    for grant_id, code, alpha2, name in countries.order_by("grant_id", "country_id").values_list(
        "grant_id", "country_id", "country__alpha2", "country__name"
    ):
        by_id[grant_id].recipients.append({"code": code, "alpha2": alpha2, "name": name})
    providers = Grant.provider_countries.through.objects.filter(grant_id__in=ids)
    for grant_id, code, alpha2, name in providers.order_by("grant_id", "country_id").values_list(
        "grant_id", "country_id", "country__alpha2", "country__name"
    ):
        by_id[grant_id].providers.append({"code": code, "alpha2": alpha2, "name": name})
    partners = Grant.facilitating_partners.through.objects.filter(grant_id__in=ids)
    for row in partners.order_by("grant_id", "partner_id").values(
        "grant_id",
        name=F("partner__name"),
        kind=F("partner__kind"),
        iati_org_ref=F("partner__iati_org_ref"),
        iati_org_type=F("partner__iati_org_type"),
    ):
        by_id[row.pop("grant_id")].partners.append(row)
    history = GrantHistory.objects.filter(
        grant_id__in=ids, action__in=["approve", "complete", "close", "cancel"]
    ).order_by("at", "id")
    for grant_id, action, at in history.values_list("grant_id", "action", "at"):
        by_id[grant_id].events[action] = at
    disbursements = Disbursement.objects.filter(grant_id__in=ids).order_by("disbursed_on", "id")
    for row in disbursements.values("grant_id", "id", "amount_usd", "disbursed_on", "reverses_id"):
        by_id[row.pop("grant_id")].disbursements.append(row)
    exchanges = Exchange.objects.filter(grant_id__in=ids, status=ExchangeStatus.HELD)
    for row in exchanges.order_by("start_date", "id").values(
        "grant_id", "start_date", "end_date", "participants", "women_participants"
    ):
        by_id[row.pop("grant_id")].exchanges.append(row)
    reports = CompletionReport.objects.filter(grant_id__in=ids, submitted_at__isnull=False)
    for row in reports.values("grant_id", "submitted_at", *OUTCOME_FIELDS):
        by_id[row.pop("grant_id")].report = row
    stories = ResultsStory.objects.filter(grant_id__in=ids, published=True)
    for row in stories.order_by("published_at", "id").values(
        "grant_id", "slug", "title", "published_at"
    ):
        by_id[row.pop("grant_id")].stories.append(row)
    documents = public_documents().filter(grant_id__in=ids, content_type__in=codes.DOCUMENT_FORMATS)
    for row in documents.order_by("uploaded_at", "id").values(
        "grant_id", "id", "title", "category", "content_type", "uploaded_at"
    ):
        by_id[row["grant_id"]].documents.append(row)
    return list(by_id.values())


# --- The fund --------------------------------------------------------------------------------


@dataclass
class FundFacts:
    partners: dict  # id -> {name, code, kind, iati_org_ref, iati_org_type}
    contributions: list[dict]
    receipts: list[dict]


def fund_facts() -> FundFacts:
    """The partners, their pledges and every receipt (reversals included): tens to a
    few thousand rows, whatever the number of grants."""
    partners = {
        row["id"]: row
        for row in Partner.objects.values(
            "id", "name", "code", "kind", "iati_org_ref", "iati_org_type"
        )
    }
    contributions = list(
        Contribution.objects.order_by("id").values(
            "id",
            "partner_id",
            "reference",
            "currency",
            "pledged_amount",
            "pledged_usd",
            "received_usd",
            "signed_on",
            "period_start",
            "created_at",
            "provider_activity_id",
        )
    )
    receipts = list(
        Receipt.objects.order_by("received_on", "id").values(
            "id",
            "contribution_id",
            "amount",
            "usd_amount",
            "received_on",
            "reverses_id",
            "reason",
        )
    )
    return FundFacts(partners=partners, contributions=contributions, receipts=receipts)


def contribution_date(contribution: dict) -> date:
    """When a pledge was made: signed, else its period's start, else when recorded."""
    return (
        contribution["signed_on"]
        or contribution["period_start"]
        or contribution["created_at"].date()
    )


def grouped(rows: list[dict], key: str) -> dict:
    out = defaultdict(list)
    for row in rows:
        out[row[key]].append(row)
    return out
