"""What the database holds, as the workbook's canonical rows (``schema``): the
exporter writes these rows, and the importer compares a file's rows with them to
recognise a record it holds already (a re-import of the same file changes nothing).

Read in a few queries whatever the portfolio's size: each table once, the
many-to-many tables once each, the history once.

Left out: drafts (private to their leader, not yet the fund's), and a receipt or a
disbursement that was reversed together with its reversal (the pair cancels out: the
money reports are the same without both).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.utils import timezone

from brokering.models import ExchangeRequest, Match, Offer
from grants.models import Disbursement, Exchange, Grant, GrantHistory, GrantStatus
from partners.models import (
    Contribution,
    Partner,
    Receipt,
    Window,
    WindowApprover,
    WindowMovement,
    WindowMovementKind,
)
from results.models import OUTCOME_FIELDS, CompletionReport, ConcreteResult


def _day(value):
    return timezone.localtime(value).date() if value is not None else None


def _codes(values) -> tuple:
    return tuple(sorted(values))


def partner_rows(codes=None) -> list[dict]:
    partners = Partner.objects.order_by("code")
    if codes is not None:
        partners = partners.filter(code__in=codes)
    return [
        {
            "code": p["code"],
            "name": p["name"],
            "kind": p["kind"],
            "country": p["country_id"] or "",
            "joined_on": p["joined_on"],
        }
        for p in partners.values("code", "name", "kind", "country_id", "joined_on")
    ]


def _unreversed(model, parent: str):
    """The entries of ``model`` that are not reversals and were not reversed."""
    return model.objects.filter(reverses__isnull=True, reversal__isnull=True).order_by(
        parent, *model._meta.ordering
    )


def contribution_rows(references=None) -> tuple[list[dict], list[dict]]:
    """(contributions, receipts)."""
    contributions = Contribution.objects.order_by("reference")
    receipts = _unreversed(Receipt, "contribution__reference")
    if references is not None:
        contributions = contributions.filter(reference__in=references)
        receipts = receipts.filter(contribution__reference__in=references)
    out = [
        {
            "reference": c["reference"],
            "partner": c["partner__code"],
            "currency": c["currency"],
            "pledged_amount": c["pledged_amount"],
            "pledged_usd": c["pledged_usd"],
            "signed_on": c["signed_on"],
            "period_start": c["period_start"],
            "period_end": c["period_end"],
        }
        for c in contributions.values(
            "reference",
            "partner__code",
            "currency",
            "pledged_amount",
            "pledged_usd",
            "signed_on",
            "period_start",
            "period_end",
        )
    ]
    receipt_out = [
        {
            "contribution": r["contribution__reference"],
            "received_on": r["received_on"],
            "amount": r["amount"],
            "usd_amount": r["usd_amount"],
        }
        for r in receipts.values("contribution__reference", "received_on", "amount", "usd_amount")
    ]
    return out, receipt_out


def _m2m(through, owner: str, target: str, owners) -> dict:
    found = defaultdict(list)
    for owner_id, target_id in through.objects.filter(**{f"{owner}__in": owners}).values_list(
        owner, target
    ):
        found[owner_id].append(target_id)
    return found


GRANT_VALUES = (
    "id",
    "reference",
    "title",
    "summary",
    "task_team_leader_id",
    "sector_id",
    "region",
    "window_id",
    "requested_usd",
    "approved_usd",
    "development_goal",
    "recipient_endorsed_on",
    "targeted_outcomes",
    "planned_start",
    "planned_end",
    "status",
    "submitted_at",
    "decided_at",
)


GRANT_BATCH = 2000


def _grants(references=None):
    grants = Grant.objects.exclude(status=GrantStatus.DRAFT).order_by("reference", "id")
    if references is not None:
        grants = grants.filter(reference__in=references)
    return grants.values(*GRANT_VALUES)


def grant_rows(references=None) -> dict[str, list[dict]]:
    """The grants (not drafts) with their exchanges, disbursements and completion
    reports: ``{"grants": [...], "exchanges": [...], ...}``."""
    return _grant_rows(list(_grants(references)))


def grant_row_batches(batch_size: int | None = None) -> Iterator[dict[str, list[dict]]]:
    """``grant_rows()`` a batch of grants at a time (in the same order, each grant's
    exchanges, disbursements and report in its batch), read over a server-side cursor:
    what the export holds at once is one batch, whatever the size of the portfolio."""
    batch_size = batch_size or GRANT_BATCH
    batch = []
    for grant in _grants().iterator(chunk_size=batch_size):
        batch.append(grant)
        if len(batch) >= batch_size:
            yield _grant_rows(batch)
            batch = []
    if batch:
        yield _grant_rows(batch)


def _grant_rows(grants: list[dict]) -> dict[str, list[dict]]:
    ids = [g["id"] for g in grants]
    reference_of = {g["id"]: g["reference"] for g in grants}
    users = dict(
        get_user_model()
        .objects.filter(pk__in={g["task_team_leader_id"] for g in grants})
        .values_list("pk", "username")
    )
    window_codes = dict(Window.objects.values_list("pk", "code"))
    recipients = _m2m(Grant.recipient_countries.through, "grant_id", "country_id", ids)
    providers = _m2m(Grant.provider_countries.through, "grant_id", "country_id", ids)
    partner_codes = dict(Partner.objects.values_list("pk", "code"))
    facilitators = _m2m(Grant.facilitating_partners.through, "grant_id", "partner_id", ids)
    history = defaultdict(dict)
    for grant_id, action, at, comment in (
        GrantHistory.objects.filter(grant_id__in=ids)
        .order_by("at", "id")
        .values_list("grant_id", "action", "at", "comment")
    ):
        # The last of each action (and the first creation).
        if action == "create" and "create" in history[grant_id]:
            continue
        history[grant_id][action] = (at, comment)
    rows = []
    for g in grants:
        events = history[g["id"]]
        status = g["status"]
        decision = next(
            (events[a] for a in ("approve", "reject", "return") if a in events), (None, "")
        )
        end = events.get("close") or events.get("cancel") or (None, "")
        review = events.get("start-review")
        submitted = g["submitted_at"]
        review_on = None
        if (
            review
            and status != GrantStatus.SUBMITTED
            and (submitted is None or review[0] >= submitted)
        ):
            review_on = _day(review[0])
        ended = status in (GrantStatus.CLOSED, GrantStatus.CANCELLED)
        rows.append(
            {
                "reference": g["reference"],
                "title": g["title"],
                "summary": g["summary"],
                "task_team_leader": users.get(g["task_team_leader_id"], ""),
                "sector": g["sector_id"],
                "region": g["region"],
                "window": window_codes.get(g["window_id"], ""),
                "recipient_countries": _codes(recipients[g["id"]]),
                "provider_countries": _codes(providers[g["id"]]),
                "facilitating_partners": _codes(partner_codes[p] for p in facilitators[g["id"]]),
                "recipient_endorsed_on": g["recipient_endorsed_on"],
                "requested_usd": g["requested_usd"],
                "development_goal": g["development_goal"],
                "targeted_outcomes": _codes(g["targeted_outcomes"] or ()),
                "planned_start": g["planned_start"],
                "planned_end": g["planned_end"],
                "status": status,
                "created_on": _day(events["create"][0]) if "create" in events else None,
                "submitted_on": _day(submitted),
                "review_started_on": review_on,
                "decided_on": _day(g["decided_at"]),
                "approved_usd": g["approved_usd"],
                "decision_comment": decision[1] if g["decided_at"] else "",
                "ended_on": _day(end[0]) if ended else None,
                "end_comment": end[1] if ended else "",
            }
        )
    exchange_rows = []
    exchanges = list(
        Exchange.objects.filter(grant_id__in=ids)
        .order_by("grant_id", "start_date", "id")
        .values(
            "id",
            "grant_id",
            "title",
            "instrument",
            "start_date",
            "end_date",
            "location",
            "participants",
            "women_participants",
            "status",
        )
    )
    exchange_ids = [e["id"] for e in exchanges]
    e_providers = _m2m(
        Exchange.provider_countries.through, "exchange_id", "country_id", exchange_ids
    )
    e_recipients = _m2m(
        Exchange.recipient_countries.through, "exchange_id", "country_id", exchange_ids
    )
    for e in exchanges:
        exchange_rows.append(
            {
                "grant": reference_of[e["grant_id"]],
                "title": e["title"],
                "instrument": e["instrument"],
                "start_date": e["start_date"],
                "end_date": e["end_date"],
                "location": e["location"],
                "participants": e["participants"],
                "women_participants": e["women_participants"],
                "status": e["status"],
                "provider_countries": _codes(e_providers[e["id"]]),
                "recipient_countries": _codes(e_recipients[e["id"]]),
            }
        )
    disbursement_rows = [
        {
            "grant": reference_of[d["grant_id"]],
            "disbursed_on": d["disbursed_on"],
            "amount_usd": d["amount_usd"],
            "purpose": d["purpose"],
        }
        for d in _unreversed(Disbursement, "grant_id")
        .filter(grant_id__in=ids)
        .values("grant_id", "disbursed_on", "amount_usd", "purpose")
    ]
    reports = list(
        CompletionReport.objects.filter(grant_id__in=ids)
        .order_by("grant_id")
        .values(
            "id",
            "grant_id",
            *OUTCOME_FIELDS,
            "participants",
            "rating",
            "lessons",
            "follow_up_needed",
            "follow_up_description",
            "submitted_at",
            "accepted_at",
        )
    )
    results = defaultdict(list)
    for report_id, kind, description in (
        ConcreteResult.objects.filter(report_id__in=[r["id"] for r in reports])
        .order_by("report_id", "id")
        .values_list("report_id", "kind", "description")
    ):
        results[report_id].append(f"{kind}: {' '.join(description.split())}")
    report_rows = [
        {
            "grant": reference_of[r["grant_id"]],
            "outcomes_achieved": _codes(name for name in OUTCOME_FIELDS if r[name]),
            "participants": r["participants"],
            "rating": r["rating"],
            "lessons": r["lessons"].strip(),
            "follow_up_needed": r["follow_up_needed"],
            "follow_up_description": r["follow_up_description"].strip(),
            "concrete_results": "\n".join(results[r["id"]]),
            "submitted_on": _day(r["submitted_at"]),
            "accepted_on": _day(r["accepted_at"]),
        }
        for r in reports
    ]
    return {
        "grants": rows,
        "exchanges": exchange_rows,
        "disbursements": disbursement_rows,
        "completion_reports": report_rows,
    }


def window_rows(codes=None) -> tuple[list[dict], list[dict]]:
    """(windows, window_movements): the allocations and releases a fund manager made;
    a closing is the window's status and ``closed_on`` (the money it returned follows),
    and a closed window's grants' returns follow from the grants."""
    windows = Window.objects.order_by("code")
    if codes is not None:
        windows = windows.filter(code__in=codes)
    windows = list(
        windows.values(
            "id",
            "code",
            "name",
            "kind",
            "region",
            "max_grant_usd",
            "opens_on",
            "closes_on",
            "status",
            "created_at",
        )
    )
    ids = [w["id"] for w in windows]
    code_of = {w["id"]: w["code"] for w in windows}
    sectors = _m2m(Window.sectors.through, "window_id", "sector_id", ids)
    approvers = defaultdict(list)
    for window_id, username, limit in (
        WindowApprover.objects.filter(window_id__in=ids)
        .order_by("window_id", "user__username")
        .values_list("window_id", "user__username", "limit_usd")
    ):
        approvers[window_id].append(f"{username}: {limit}")
    closed = {}
    movements = []
    for m in (
        WindowMovement.objects.filter(window_id__in=ids)
        .order_by("window_id", "created_at", "id")
        .values("window_id", "kind", "created_at", "amount_usd", "reason")
    ):
        if m["kind"] == WindowMovementKind.CLOSE:
            closed[m["window_id"]] = _day(m["created_at"])
        elif m["kind"] in (WindowMovementKind.ALLOCATION, WindowMovementKind.RELEASE):
            movements.append(
                {
                    "window": code_of[m["window_id"]],
                    "kind": m["kind"],
                    "moved_on": _day(m["created_at"]),
                    "amount_usd": m["amount_usd"],
                    "reason": m["reason"].strip(),
                }
            )
    rows = [
        {
            "code": w["code"],
            "name": w["name"],
            "kind": w["kind"],
            "region": w["region"],
            "sectors": _codes(sectors[w["id"]]),
            "max_grant_usd": w["max_grant_usd"],
            "opens_on": w["opens_on"],
            "closes_on": w["closes_on"],
            "status": w["status"],
            "closed_on": closed.get(w["id"]),
            "approvers": "\n".join(approvers[w["id"]]),
            "created_on": _day(w["created_at"]),
        }
        for w in windows
    ]
    return rows, movements


def _usernames(ids) -> dict:
    return dict(get_user_model().objects.filter(pk__in=set(ids)).values_list("pk", "username"))


def offer_rows(references=None) -> list[dict]:
    offers = Offer.objects.order_by("reference", "id")
    if references is not None:
        offers = offers.filter(reference__in=references)
    offers = list(
        offers.values(
            "id",
            "reference",
            "title",
            "description",
            "provider_country_id",
            "institution",
            "instruments",
            "languages",
            "capacity_per_year",
            "contact_name",
            "contact_email",
            "status",
            "created_by_id",
            "created_at",
        )
    )
    sectors = _m2m(Offer.sectors.through, "offer_id", "sector_id", [o["id"] for o in offers])
    users = _usernames(o["created_by_id"] for o in offers)
    return [
        {
            "reference": o["reference"] or "",
            "title": o["title"],
            "description": o["description"].strip(),
            "provider_country": o["provider_country_id"],
            "institution": o["institution"],
            "sectors": _codes(sectors[o["id"]]),
            "instruments": _codes(o["instruments"] or ()),
            "languages": _codes(o["languages"] or ()),
            "capacity_per_year": o["capacity_per_year"],
            "contact_name": o["contact_name"],
            "contact_email": o["contact_email"],
            "status": o["status"],
            "created_by": users.get(o["created_by_id"], ""),
            "created_on": _day(o["created_at"]),
        }
        for o in offers
    ]


def request_rows(references=None) -> list[dict]:
    requests = ExchangeRequest.objects.order_by("reference", "id")
    if references is not None:
        requests = requests.filter(reference__in=references)
    requests = list(
        requests.values(
            "id",
            "reference",
            "title",
            "description",
            "recipient_country_id",
            "instruments",
            "languages",
            "needed_by",
            "endorsed_on",
            "status",
            "requested_by_id",
            "created_at",
        )
    )
    ids = [r["id"] for r in requests]
    sectors = _m2m(ExchangeRequest.sectors.through, "exchangerequest_id", "sector_id", ids)
    matches = {
        m["request_id"]: m
        for m in Match.objects.filter(request_id__in=ids).values(
            "request_id", "offer__reference", "grant__reference", "matched_at"
        )
    }
    users = _usernames(r["requested_by_id"] for r in requests)
    rows = []
    for r in requests:
        match = matches.get(r["id"], {})
        rows.append(
            {
                "reference": r["reference"] or "",
                "title": r["title"],
                "description": r["description"].strip(),
                "recipient_country": r["recipient_country_id"],
                "sectors": _codes(sectors[r["id"]]),
                "instruments": _codes(r["instruments"] or ()),
                "languages": _codes(r["languages"] or ()),
                "needed_by": r["needed_by"],
                "endorsed_on": r["endorsed_on"],
                "status": r["status"],
                "requested_by": users.get(r["requested_by_id"], ""),
                "created_on": _day(r["created_at"]),
                "offer": match.get("offer__reference") or "",
                "grant": match.get("grant__reference") or "",
                "matched_on": _day(match.get("matched_at")),
            }
        )
    return rows


def portfolio_rows() -> dict[str, list[dict]]:
    return {**other_rows(), **grant_rows()}


def other_rows() -> dict[str, list[dict]]:
    """Every sheet but the grants' four (``grant_rows``): tens to thousands of rows."""
    contributions, receipts = contribution_rows()
    windows, movements = window_rows()
    return {
        "partners": partner_rows(),
        "contributions": contributions,
        "receipts": receipts,
        "windows": windows,
        "window_movements": movements,
        "offers": offer_rows(),
        "requests": request_rows(),
    }
