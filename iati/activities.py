"""The IATI 2.03 activity file, written as a stream.

``activity_chunks()`` yields the file in pieces: lxml's incremental writer
(``etree.xmlfile``) writes one activity at a time, built as a small element tree and
dropped once written, over the grants read in batches (iati/data.py). Memory holds one
batch of facts and one activity, never the document.

What it says (README "Publishing to IATI"):

- one activity per grant approved or later (``hierarchy="2"``, identified
  ``<reporting-org ref>-<reference>``): title and description, participating
  organisations, status, planned and actual dates, recipient countries (percentages on
  two decimals summing to exactly 100, largest remainder) or, without any, the grant's
  region, the DAC sector, default flow (ODA), finance (grant) and aid type (D02), the
  collaboration type for a triangular grant, a budget per fiscal year, the transactions
  (the commitment at approval, a negative commitment for what cancelling or closing
  released, each disbursement and reversal), a link to each published results story
  and to each document published with it (documents.selectors.public_documents),
  the parent fund, and results: the six capacity outcomes as qualitative indicators, the
  participants and women as quantitative ones;
- then the fund's own activity (``hierarchy="1"``): an incoming commitment per pledge and
  incoming funds per receipt (a reversal as negative incoming funds), each in the
  pledge's currency, valued on its own date, with the USD the fund was credited in a
  ``seetf:usd-value`` extension element; and a link to each grant's activity.

A grant the checks (iati/checks.py) find a problem with is left out.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from grants.models import CapacityOutcome

from . import codes
from .checks import Codes, grant_problems, today
from .conf import ReportingOrg, reporting_org
from .data import (
    BATCH_SIZE,
    FundFacts,
    GrantFacts,
    contribution_date,
    fiscal_periods,
    fund_facts,
    grant_batches,
    largest_remainder,
    partner_org_type,
    percentages,
)

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
USD_VALUE = f"{{{codes.NAMESPACE}}}usd-value"
_SubElement = etree.SubElement
# Characters XML 1.0 cannot carry.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text(value) -> str:
    return _NOT_XML.sub("", str(value)).strip()


def money(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat()


def sub(parent, tag: str, attrib: dict | None = None, **extra) -> etree._Element:
    """A child element; attributes whose value is None are left out."""
    if extra:
        attrib = {**attrib, **extra} if attrib else extra
    if not attrib:
        return _SubElement(parent, tag)
    return _SubElement(
        parent,
        tag,
        {k: v if type(v) is str else str(v) for k, v in attrib.items() if v is not None},
    )


def narrative(parent, tag: str | None, value: str, attrib: dict | None = None):
    """``<tag><narrative>value</narrative></tag>`` (or the narrative in ``parent``)."""
    holder = sub(parent, tag, attrib) if tag else parent
    sub(holder, "narrative").text = text(value)
    return holder


def reporting_org_element(parent, org: ReportingOrg):
    narrative(parent, "reporting-org", org.name, {"ref": org.ref, "type": org.type})


def value(parent, amount: Decimal, on: date, currency: str | None = None):
    sub(parent, "value", {"currency": currency, "value-date": on.isoformat()}).text = money(amount)


def transaction(
    parent,
    kind: str,
    on: date,
    amount: Decimal,
    description: str | None = None,
    *,
    currency: str | None = None,
    usd: Decimal | None = None,
    provider: dict | None = None,
    ref: str | None = None,
):
    element = sub(parent, "transaction", {"ref": ref})
    sub(element, "transaction-type", code=kind)
    sub(element, "transaction-date", {"iso-date": on.isoformat()})
    value(element, amount, on, currency)
    if description:
        narrative(element, "description", description)
    if provider:
        org = sub(
            element,
            "provider-org",
            {
                "ref": provider.get("ref") or None,
                "provider-activity-id": provider.get("activity") or None,
                "type": provider.get("type"),
            },
        )
        narrative(org, None, provider["name"])
    if usd is not None:
        extension = etree.SubElement(
            element,
            USD_VALUE,
            {"currency": "USD", "value-date": on.isoformat()},
            nsmap={codes.NS_PREFIX: codes.NAMESPACE},
        )
        extension.text = money(usd)
    return element


def participating(parent, role: str, name: str, ref: str = "", org_type: str | None = None):
    org = sub(parent, "participating-org", {"ref": ref or None, "type": org_type, "role": role})
    narrative(org, None, name)


def story_url(slug: str) -> str:
    return settings.SITE_URL + reverse("results:story", kwargs={"slug": slug})


def document_url(grant_id: int, document_id: int) -> str:
    """A published document's download (anonymous once its grant's story is published)."""
    path = reverse("document-download", kwargs={"grant_pk": grant_id, "pk": document_id})
    return settings.SITE_URL + path


# --- A grant's activity ----------------------------------------------------------------------

OUTCOME_LABELS = dict(CapacityOutcome.choices)


def grant_activity(grant: GrantFacts, org: ReportingOrg) -> etree._Element:
    activity = etree.Element(
        "iati-activity",
        {
            "last-updated-datetime": stamp(grant.updated_at),
            XML_LANG: org.language,
            "default-currency": "USD",
            "hierarchy": "2",
        },
    )
    identifier = org.grant_activity_id(grant.reference)
    sub(activity, "iati-identifier").text = identifier
    reporting_org_element(activity, org)
    narrative(activity, "title", grant.title)
    narrative(
        activity,
        "description",
        grant.summary or grant.development_goal,
        {"type": codes.DESCRIPTION_GENERAL},
    )
    if grant.summary and grant.development_goal:
        narrative(
            activity, "description", grant.development_goal, {"type": codes.DESCRIPTION_OBJECTIVES}
        )

    participating(activity, codes.ROLE_FUNDING, org.name, org.ref, org.type)
    for partner in grant.partners:
        participating(
            activity,
            codes.ROLE_FUNDING,
            partner["name"],
            partner["iati_org_ref"],
            partner_org_type(partner),
        )
    participating(activity, codes.ROLE_EXTENDING, org.name, org.ref, org.type)
    for country in grant.providers:
        participating(
            activity,
            codes.ROLE_IMPLEMENTING,
            f"{country['name']} (knowledge provider)",
            org_type=codes.ORG_TYPE_GOVERNMENT,
        )

    sub(activity, "activity-status", code=codes.GRANT_STATUS[grant.status])
    dates = [
        (codes.PLANNED_START, grant.planned_start),
        (codes.ACTUAL_START, grant.actual_start),
        (codes.PLANNED_END, grant.planned_end),
        (codes.ACTUAL_END, grant.actual_end),
    ]
    for kind, day in dates:
        if day:
            sub(activity, "activity-date", {"type": kind, "iso-date": day.isoformat()})

    if grant.recipients:
        shares = percentages(len(grant.recipients))
        for country, share in zip(grant.recipients, shares, strict=True):
            sub(activity, "recipient-country", code=country["alpha2"], percentage=share)
    else:
        region = sub(
            activity,
            "recipient-region",
            code=codes.DAC_REGION.get(grant.region, codes.REGION_UNSPECIFIED),
            vocabulary=codes.REGION_VOCABULARY_DAC,
        )
        narrative(region, None, "The grant's region (no recipient country recorded)")
    sub(activity, "sector", vocabulary=codes.SECTOR_VOCABULARY_DAC, code=grant.sector)
    if grant.partners:
        sub(activity, "collaboration-type", code=codes.COLLABORATION_TRIANGULAR)
    sub(activity, "default-flow-type", code=codes.FLOW_ODA)
    sub(activity, "default-finance-type", code=codes.FINANCE_GRANT)
    sub(activity, "default-aid-type", code=codes.AID_TYPE_TECHNICAL_ASSISTANCE, vocabulary="1")

    for (start, end), amount in grant_budgets(grant, org):
        budget = sub(activity, "budget", type=codes.BUDGET_ORIGINAL, status=codes.BUDGET_COMMITTED)
        sub(budget, "period-start", {"iso-date": start.isoformat()})
        sub(budget, "period-end", {"iso-date": end.isoformat()})
        value(budget, amount, start)

    transaction(
        activity,
        codes.OUTGOING_COMMITMENT,
        grant.approved_on,
        grant.approved_usd,
        "Grant approved",
    )
    if grant.released_usd:
        transaction(
            activity,
            codes.OUTGOING_COMMITMENT,
            grant.released_on,
            -grant.released_usd,
            "Commitment released to the fund when the grant was "
            + ("cancelled" if grant.status == "cancelled" else "closed"),
        )
    for row in grant.disbursements:
        transaction(
            activity,
            codes.DISBURSEMENT,
            row["disbursed_on"],
            row["amount_usd"],
            "Reversal of a disbursement" if row["reverses_id"] else None,
            ref=f"{identifier}-D{row['id']}",
        )

    for story in grant.stories:
        link = sub(
            activity, "document-link", format=codes.FORMAT_HTML, url=story_url(story["slug"])
        )
        narrative(link, "title", story["title"])
        sub(link, "category", code=codes.DOCUMENT_RESULTS)
        sub(link, "language", code=org.language)
        if story["published_at"]:
            sub(link, "document-date", {"iso-date": story["published_at"].date().isoformat()})
    for document in grant.documents:
        link = sub(
            activity,
            "document-link",
            format=document["content_type"],
            url=document_url(document["grant_id"], document["id"]),
        )
        narrative(link, "title", document["title"])
        sub(link, "category", code=codes.DOCUMENT_CATEGORY[document["category"]])
        sub(link, "language", code=org.language)
        sub(link, "document-date", {"iso-date": document["uploaded_at"].date().isoformat()})

    sub(activity, "related-activity", ref=org.fund_activity_id, type=codes.RELATED_PARENT)
    grant_results(activity, grant)
    return activity


def grant_budgets(grant: GrantFacts, org: ReportingOrg) -> list[tuple[tuple[date, date], Decimal]]:
    """The approved amount over the planned period, a budget per fiscal year, in
    proportion to its days, to the cent (summing to the approved amount exactly)."""
    if grant.approved_usd is None:
        return []
    periods = fiscal_periods(grant.planned_start, grant.planned_end, org.fiscal_year_first_month)
    weights = [(end - start).days + 1 for start, end in periods]
    return list(zip(periods, largest_remainder(grant.approved_usd, weights), strict=True))


@functools.cache
def _outcome_indicator(code: str, targeted: bool, achieved: bool) -> etree._Element:
    """A capacity outcome's qualitative indicator, its period's dates to be set: the same
    few elements for every grant, built once and copied (a copy is made in C)."""
    indicator = etree.Element("indicator", measure=codes.MEASURE_QUALITATIVE)
    narrative(indicator, "title", OUTCOME_LABELS[code])
    period = sub(indicator, "period")
    sub(period, "period-start", {"iso-date": ""})
    sub(period, "period-end", {"iso-date": ""})
    if targeted:
        narrative(sub(period, "target"), "comment", "Targeted")
    narrative(sub(period, "actual"), "comment", "Achieved" if achieved else "Not achieved")
    return indicator


def grant_results(activity, grant: GrantFacts) -> None:
    if grant.report is not None:
        start = grant.actual_start or grant.planned_start
        end = max(start, grant.report["submitted_at"].date())
        result = sub(activity, "result", type=codes.RESULT_OUTCOME)
        narrative(result, "title", "Capacity outcomes (Capacity Development Results Framework)")
        narrative(
            result,
            "description",
            "The intermediate capacity outcomes the completion report records as achieved.",
        )
        for code in OUTCOME_LABELS:
            targeted = code in (grant.targeted_outcomes or [])
            indicator = copy.deepcopy(_outcome_indicator(code, targeted, bool(grant.report[code])))
            period = indicator[1]
            period[0].set("iso-date", start.isoformat())
            period[1].set("iso-date", end.isoformat())
            result.append(indicator)
    if grant.exchanges:
        start = min(e["start_date"] for e in grant.exchanges)
        end = max(e["end_date"] for e in grant.exchanges)
        result = sub(activity, "result", type=codes.RESULT_OUTPUT)
        narrative(result, "title", "Participants in the knowledge exchanges held")
        for label, key in (
            ("Participants", "participants"),
            ("Women participants", "women_participants"),
        ):
            indicator = sub(result, "indicator", measure=codes.MEASURE_UNIT, ascending="1")
            narrative(indicator, "title", label)
            period = sub(indicator, "period")
            sub(period, "period-start", {"iso-date": start.isoformat()})
            sub(period, "period-end", {"iso-date": end.isoformat()})
            sub(period, "actual", value=sum(e[key] for e in grant.exchanges))


# --- The fund's activity ---------------------------------------------------------------------


def fund_activity(fund: FundFacts, org: ReportingOrg, *, on: date, now: datetime) -> etree._Element:
    """The fund's activity, without its children's links (``activity_chunks`` writes
    them after it, as its last elements)."""
    contributions = [c for c in fund.contributions if contribution_date(c) <= on]
    receipts = [r for r in fund.receipts if r["received_on"] <= on]
    by_id = {c["id"]: c for c in fund.contributions}
    activity = etree.Element(
        "iati-activity",
        {
            "last-updated-datetime": stamp(now),
            XML_LANG: org.language,
            "default-currency": org.currency,
            "hierarchy": "1",
        },
    )
    sub(activity, "iati-identifier").text = org.fund_activity_id
    reporting_org_element(activity, org)
    narrative(activity, "title", org.name)
    narrative(
        activity,
        "description",
        "A pooled trust fund of traditional donors and new development partners financing "
        "South-South knowledge exchanges: a ministry in one developing country learns from "
        "another's experience (study tours, videoconferences, peer consultations). Each "
        "grant is a child activity of this one.",
        {"type": codes.DESCRIPTION_GENERAL},
    )
    funders = sorted(
        {c["partner_id"] for c in contributions}, key=lambda p: fund.partners[p]["name"]
    )
    for partner_id in funders:
        partner = fund.partners[partner_id]
        participating(
            activity,
            codes.ROLE_FUNDING,
            partner["name"],
            partner["iati_org_ref"],
            partner_org_type(partner),
        )
    participating(activity, codes.ROLE_ACCOUNTABLE, org.name, org.ref, org.type)
    participating(activity, codes.ROLE_EXTENDING, org.name, org.ref, org.type)
    sub(activity, "activity-status", code=codes.STATUS_IMPLEMENTATION)
    starts = [contribution_date(c) for c in contributions]
    planned_start = min(starts) if starts else on
    sub(
        activity,
        "activity-date",
        {"type": codes.PLANNED_START, "iso-date": planned_start.isoformat()},
    )
    originals = [r["received_on"] for r in receipts if r["reverses_id"] is None]
    if originals:
        sub(
            activity,
            "activity-date",
            {"type": codes.ACTUAL_START, "iso-date": min(originals).isoformat()},
        )
    region = sub(
        activity,
        "recipient-region",
        code=codes.REGION_UNSPECIFIED,
        vocabulary=codes.REGION_VOCABULARY_DAC,
    )
    narrative(region, None, "Developing countries, unspecified")
    sub(activity, "sector", vocabulary=codes.SECTOR_VOCABULARY_DAC, code=codes.FUND_SECTOR)
    sub(activity, "default-flow-type", code=codes.FLOW_ODA)
    sub(activity, "default-finance-type", code=codes.FINANCE_GRANT)

    def provider(contribution):
        partner = fund.partners[contribution["partner_id"]]
        return {
            "name": partner["name"],
            "ref": partner["iati_org_ref"],
            "type": partner_org_type(partner),
            "activity": contribution["provider_activity_id"],
        }

    for contribution in contributions:
        transaction(
            activity,
            codes.INCOMING_COMMITMENT,
            contribution_date(contribution),
            contribution["pledged_amount"],
            f"Pledge {contribution['reference']}",
            currency=contribution["currency"],
            usd=contribution["pledged_usd"],
            provider=provider(contribution),
            ref=f"{org.fund_activity_id}-{contribution['reference']}",
        )
    for receipt in receipts:
        contribution = by_id[receipt["contribution_id"]]
        if receipt["reverses_id"]:
            description = (
                f"Reversal of a receipt of {contribution['reference']}: {receipt['reason']}"
            )
        else:
            description = f"Received against {contribution['reference']}"
        transaction(
            activity,
            codes.INCOMING_FUNDS,
            receipt["received_on"],
            receipt["amount"],
            description,
            currency=contribution["currency"],
            usd=receipt["usd_amount"],
            provider=provider(contribution),
            ref=f"{org.fund_activity_id}-R{receipt['id']}",
        )
    return activity


def related_child(ref: str) -> etree._Element:
    """The fund's link to one grant's activity."""
    return etree.Element("related-activity", ref=ref, type=codes.RELATED_CHILD)


# --- The file --------------------------------------------------------------------------------


CHILD_BATCHES_PER_CHUNK = 10
FUND_END = b"</iati-activity>\n"


class _Sink:
    """What the incremental writer writes, until the generator hands it on."""

    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def activity_chunks(
    *, grants=None, batch_size: int = BATCH_SIZE, on: date | None = None
) -> Iterator[bytes]:
    """The activity file, a batch of grants per chunk, then the fund's activity."""
    org = reporting_org()
    on = on or today()
    now = timezone.now()
    code_lists = Codes.load()
    sink = _Sink()
    # The fund's links to its children (one related-activity per grant, the fund
    # activity's last elements), kept serialised, a batch's in one bytes: as elements of
    # the fund's tree, 200,000 of them held the file's largest share of memory.
    children: list[bytes] = []
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(
            "iati-activities",
            {"version": codes.VERSION, "generated-datetime": stamp(now)},
            nsmap={codes.NS_PREFIX: codes.NAMESPACE},
        ):
            for batch in grant_batches(grants, batch_size):
                links = []
                for grant in batch:
                    if grant_problems(grant, on=on, codes=code_lists):
                        continue
                    xf.write(grant_activity(grant, org), pretty_print=True)
                    link = related_child(org.grant_activity_id(grant.reference))
                    links.append(b"  " + etree.tostring(link, pretty_print=True))
                children.append(b"".join(links))
                xf.flush()
                yield sink.take()
            # The fund's activity last: its head serialised as the writer would, then its
            # children, straight to the sink (the writer flushed first, so the bytes keep
            # their order).
            fund = etree.tostring(
                fund_activity(fund_facts(), org, on=on, now=now),
                encoding="utf-8",
                pretty_print=True,
            )
            head = fund.removesuffix(FUND_END)
            if head == fund:
                raise ValueError("The fund's activity does not end as expected.")
            xf.flush()
            sink.write(head)
            yield sink.take()
            while children:
                sink.write(children.pop(0))
                if len(sink.parts) >= CHILD_BATCHES_PER_CHUNK:
                    yield sink.take()
            sink.write(FUND_END)
    yield sink.take()
