"""The review's own figures computed from the data, and who learned from whom.

``portfolio_indicators`` gives the headline figures the 2011 review counted by hand (72
grants, 65 countries, 51 recipients, 25 of them also providers, 19 of 21 projects with
study tours, 15 of 21 with concrete results); ``exchange_flows`` the exchanges held from
each provider to each recipient, by country or by region. Both start from grants already
scoped to the user and filtered, and run a fixed number of queries.

Countries: a grant's recipient and provider countries and those of its exchanges held
(an exchange may name countries the grant does not). A flow is a (provider, recipient)
pair of an exchange held: the exchange's own countries, or where it names none on a side,
its grant's.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Avg, Count, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from grants.models import (
    APPROVED_AND_LATER,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantStatus,
    Instrument,
)
from partners.models import Region
from results.models import ConcreteResult
from seetf.common.money import CENT

COMPLETED = (GrantStatus.COMPLETED, GrantStatus.CLOSED)
ONE_PLACE = Decimal("0.1")

INDICATORS = {
    "grants_approved": _("Grants approved (approved and later, cancelled included)"),
    "grants_completed": _("Projects completed (completed or closed)"),
    "countries_involved": _("Countries involved, as recipient or provider"),
    "recipient_countries": _("Recipient countries"),
    "provider_countries": _("Provider countries"),
    "countries_both_roles": _("Countries both recipient and provider"),
    "exchanges_held": _("Exchanges held"),
    "study_tour_share": _("Completed projects with a study tour held (percent)"),
    "average_grant_usd": _("Average approved grant (USD)"),
    "women_participant_share": _("Women among the participants of exchanges held (percent)"),
    "grants_with_concrete_results": _("Completed projects reporting concrete results"),
}
UNITS = {
    "study_tour_share": "percent",
    "women_participant_share": "percent",
    "average_grant_usd": "usd",
}


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part * 100) / whole).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def approved_in_period(grants, start=None, end=None):
    """Grants approved and later, approved (``decided_at``, as a date in the fund's time
    zone) within ``[start, end]`` when given."""
    grants = grants.filter(status__in=APPROVED_AND_LATER)
    if start is not None:
        grants = grants.filter(decided_at__date__gte=start)
    if end is not None:
        grants = grants.filter(decided_at__date__lte=end)
    return grants


def approved_statuses(statuses, start=None, end=None):
    """The statuses of ``approved_in_period(grants, start, end)`` when ``grants`` are the
    grants at ``statuses`` (None: not whole statuses) and no period is given: then so
    are the grants approved and later among them. None otherwise."""
    if statuses is None or start is not None or end is not None:
        return None
    return frozenset(statuses) & frozenset(APPROVED_AND_LATER)


def portfolio_indicators(grants, statuses=None) -> dict:
    """Rows ``{indicator, label, value, unit, numerator, denominator}``. ``statuses``,
    when given, says that ``grants`` are exactly the grants at these statuses: on
    PostgreSQL the figures are then summed from the kept sums per status, else from the
    kept facts of ``grants`` (``indicators_sql``: two queries); on SQLite three queries
    (``_indicator_figures``)."""
    if connection.vendor == "postgresql":
        from .indicators_sql import indicator_figures

        figures, recipients, providers = indicator_figures(grants, COMPLETED, statuses)
    else:
        figures, recipients, providers = _indicator_figures(grants)
    return _indicators_report(figures, recipients, providers)


def _indicator_figures(grants):
    """(figures, recipient countries, provider countries) of ``grants`` from the
    records: the grants' counts and average, the countries by role, the exchanges held."""
    held = Exchange.objects.filter(grant__in=grants.values("pk"), status=ExchangeStatus.HELD)
    figures = grants.aggregate(
        grants_approved=Count("pk"),
        grants_completed=Count("pk", filter=Q(status__in=COMPLETED)),
        average=Avg("approved_usd"),
        study_tours=Count(
            "pk",
            filter=Q(status__in=COMPLETED)
            & Q(
                Exists(
                    Exchange.objects.filter(
                        grant=OuterRef("pk"),
                        status=ExchangeStatus.HELD,
                        instrument=Instrument.STUDY_TOUR,
                    )
                )
            ),
        ),
        concrete=Count(
            "pk",
            filter=Q(status__in=COMPLETED)
            & Q(Exists(ConcreteResult.objects.filter(report__grant=OuterRef("pk")))),
        ),
    )
    roles = _country_roles(grants, held)
    figures.update(
        held.aggregate(
            held=Count("pk"),
            participants=Coalesce(Sum("participants"), 0),
            women=Coalesce(Sum("women_participants"), 0),
        )
    )
    recipients = {code for code, role in roles if role == "r"}
    providers = {code for code, role in roles if role == "p"}
    return figures, recipients, providers


def _indicators_report(figures, recipients, providers) -> dict:
    """The report's rows from the figures (``_indicator_figures``' keys)."""
    average = figures["average"]
    completed = figures["grants_completed"]

    def row(indicator, value, numerator=None, denominator=None):
        return {
            "indicator": indicator,
            "label": str(INDICATORS[indicator]),
            "value": value,
            "unit": UNITS.get(indicator, "count"),
            "numerator": numerator,
            "denominator": denominator,
        }

    rows = [
        row("grants_approved", Decimal(figures["grants_approved"])),
        row("grants_completed", Decimal(completed)),
        row("countries_involved", Decimal(len(recipients | providers))),
        row("recipient_countries", Decimal(len(recipients))),
        row("provider_countries", Decimal(len(providers))),
        row("countries_both_roles", Decimal(len(recipients & providers))),
        row("exchanges_held", Decimal(figures["held"])),
        row(
            "study_tour_share",
            _percent(figures["study_tours"], completed),
            figures["study_tours"],
            completed,
        ),
        row(
            "average_grant_usd",
            None if average is None else Decimal(average).quantize(CENT, rounding=ROUND_HALF_UP),
        ),
        row(
            "women_participant_share",
            _percent(figures["women"], figures["participants"]),
            figures["women"],
            figures["participants"],
        ),
        row(
            "grants_with_concrete_results",
            Decimal(figures["concrete"]),
            figures["concrete"],
            completed,
        ),
    ]
    return {
        "rows": rows,
        "totals": {"indicators": len(rows)},
        "countries": {
            "recipients": sorted(recipients),
            "providers": sorted(providers),
            "both": sorted(recipients & providers),
        },
    }


def _country_roles(grants, held) -> set[tuple[str, str]]:
    """(country, "r" or "p") for the grants' and their held exchanges' countries: one
    query, each of the four many-to-many tables' countries made distinct on its own,
    then put together (``UNION ALL``): a UNION of their rows made a million (country,
    role) rows distinct at 200,000 grants (1.5 s; 0.4 s so)."""
    ids = grants.values("pk")
    parts = [
        Grant.recipient_countries.through.objects.filter(grant__in=ids)
        .annotate(role=Value("r"))
        .values_list("country_id", "role"),
        Grant.provider_countries.through.objects.filter(grant__in=ids)
        .annotate(role=Value("p"))
        .values_list("country_id", "role"),
        Exchange.recipient_countries.through.objects.filter(exchange__in=held.values("pk"))
        .annotate(role=Value("r"))
        .values_list("country_id", "role"),
        Exchange.provider_countries.through.objects.filter(exchange__in=held.values("pk"))
        .annotate(role=Value("p"))
        .values_list("country_id", "role"),
    ]
    first, *rest = [part.order_by().distinct() for part in parts]
    return set(first.union(*rest, all=True))


# --- Exchange flows --------------------------------------------------------------------------

FLOW_BY = ("country", "region")


def _countries_of(through, owner: str, ids, countries: dict) -> dict[int, list[str]]:
    """Owner id -> its country codes, in one query that also notes each country's name
    and region in ``countries``."""
    found = defaultdict(list)
    rows = (
        through.objects.filter(**{f"{owner}__in": ids})
        .order_by()
        .values_list(f"{owner}_id", "country_id", "country__name", "country__region")
    )
    for owner_id, code, name, region in rows:
        found[owner_id].append(code)
        countries[code] = (name, region)
    return found


def exchange_flows(grants, by: str = "country", statuses=None) -> dict:
    """Rows ``{provider, provider_name, recipient, recipient_name, exchanges, grants,
    participants, women_participants}``, most exchanges first: a row per (provider,
    recipient) country pair, or region pair, of the exchanges held. An exchange counts
    once in each pair it joins (and once in the totals), with its participants.

    ``statuses``, when given, says that ``grants`` are exactly the grants at these
    statuses (``grants.filters.status_scope``): on PostgreSQL the flows are then summed
    from their totals per status.

    On SQLite, queries: the exchanges held; their providers and recipients; the grants'
    (for an exchange that names none on a side), each with the countries' names and
    regions: five, whatever the size. On PostgreSQL the flows are summed from the facts
    the database keeps per grant (``flows_sql``): two queries."""
    if connection.vendor == "postgresql":
        from .flows_sql import exchange_flows_postgres

        return exchange_flows_postgres(grants, by, statuses)
    return flows_of(_flow_data(grants), by)


def exchange_flows_both(grants, statuses=None) -> dict:
    """The flows by country and by region from the same five queries (on PostgreSQL
    two, ``flows_sql``)."""
    if connection.vendor == "postgresql":
        from .flows_sql import exchange_flows_both_postgres

        return exchange_flows_both_postgres(grants, statuses)
    data = _flow_data(grants)
    return {by: flows_of(data, by) for by in FLOW_BY}


def _flow_data(grants) -> dict:
    held = Exchange.objects.filter(grant__in=grants.values("pk"), status=ExchangeStatus.HELD)
    exchanges = list(
        held.order_by().values_list("id", "grant_id", "participants", "women_participants")
    )
    held_ids = held.values("pk")
    # A grant's countries stand in for an exchange that names none on a side: read only
    # for those grants.
    grant_ids = (
        held.filter(Q(provider_countries__isnull=True) | Q(recipient_countries__isnull=True))
        .order_by()
        .values("grant_id")
    )
    countries: dict[str, tuple[str, str]] = {}
    return {
        "held": exchanges,
        "providers": _countries_of(
            Exchange.provider_countries.through, "exchange", held_ids, countries
        ),
        "recipients": _countries_of(
            Exchange.recipient_countries.through, "exchange", held_ids, countries
        ),
        "grant_providers": _countries_of(
            Grant.provider_countries.through, "grant", grant_ids, countries
        ),
        "grant_recipients": _countries_of(
            Grant.recipient_countries.through, "grant", grant_ids, countries
        ),
        "countries": countries,
    }


def flows_of(data: dict, by: str) -> dict:
    countries = data["countries"]
    region_names = dict(Region.choices)

    def place(code):
        if by == "region":
            region = countries.get(code, ("", Region.OTH))[1]
            return region, str(region_names.get(region, region))
        return code, countries.get(code, (code, ""))[0]

    pairs: dict[tuple, dict] = {}
    total = {"exchanges": 0, "grants": set(), "participants": 0, "women_participants": 0}
    for exchange_id, grant_id, participants, women in data["held"]:
        sources = data["providers"].get(exchange_id) or data["grant_providers"].get(grant_id, [])
        targets = data["recipients"].get(exchange_id) or data["grant_recipients"].get(grant_id, [])
        seen = set()
        for source in sources:
            for target in targets:
                a, b = place(source), place(target)
                if (a[0], b[0]) in seen:
                    continue
                seen.add((a[0], b[0]))
                entry = pairs.get((a[0], b[0]))
                if entry is None:
                    entry = pairs[(a[0], b[0])] = {
                        "provider": a[0],
                        "provider_name": a[1],
                        "recipient": b[0],
                        "recipient_name": b[1],
                        "exchanges": 0,
                        "grants": set(),
                        "participants": 0,
                        "women_participants": 0,
                    }
                entry["exchanges"] += 1
                entry["grants"].add(grant_id)
                entry["participants"] += participants
                entry["women_participants"] += women
        if seen:
            total["exchanges"] += 1
            total["grants"].add(grant_id)
            total["participants"] += participants
            total["women_participants"] += women
    rows = sorted(
        pairs.values(), key=lambda row: (-row["exchanges"], row["provider"], row["recipient"])
    )
    for row in rows:
        row["grants"] = len(row["grants"])
    total["grants"] = len(total["grants"])
    return {"rows": rows, "totals": total}


# The statuses of the grants the public sees on the hub's map (``public_grants``).
PUBLIC_STATUSES = frozenset(APPROVED_AND_LATER)


def public_grants():
    """What the public sees of the portfolio on the hub's map: the grants approved and
    later, as the fund publishes them in its IATI file (their countries and exchanges)."""
    return Grant.objects.filter(status__in=sorted(PUBLIC_STATUSES))


def region_matrix(flows_by_region: dict) -> dict:
    """The region flows as a matrix: provider regions down, recipient regions across,
    exchanges in the cells (for the table beside the map)."""
    regions = [code for code, _name in Region.choices]
    names = dict(Region.choices)
    cells = {
        (row["provider"], row["recipient"]): row["exchanges"] for row in flows_by_region["rows"]
    }
    used = sorted(
        {row["provider"] for row in flows_by_region["rows"]}
        | {row["recipient"] for row in flows_by_region["rows"]},
        key=regions.index,
    )
    return {
        "columns": [{"code": code, "name": str(names[code])} for code in used],
        "rows": [
            {
                "code": provider,
                "name": str(names[provider]),
                "cells": [cells.get((provider, recipient), 0) for recipient in used],
            }
            for provider in used
        ],
    }
