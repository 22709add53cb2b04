"""The IATI 2.03 organisation file: the fund as an organisation.

- ``total-budget`` per fiscal year (``IATI_FISCAL_YEAR_FIRST_MONTH``; no period longer
  than a year): the sum of the published grants' budgets for that year (the activity
  file's), with a ``budget-line`` per partner for the contributions it paid in that year
  (USD credited);
- ``total-expenditure`` per past fiscal year: the published grants' disbursements in it,
  reversals deducted.

Small (a few elements per year): built as one tree and written through the same
incremental writer as the activity file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from django.utils import timezone
from lxml import etree

from . import codes
from .activities import XML_LANG, _Sink, grant_budgets, money, narrative, stamp, sub
from .checks import Codes, grant_problems, today
from .conf import reporting_org
from .data import fiscal_year_end, fiscal_year_start, fund_facts, grant_batches

ZERO = Decimal("0.00")


def organisation_figures(*, on: date, grants=None) -> dict:
    """Per fiscal year start: ``budget``, ``spent`` and ``received`` (partner id -> USD)."""
    org = reporting_org()
    first_month = org.fiscal_year_first_month
    code_lists = Codes.load()
    budget = defaultdict(lambda: ZERO)
    spent = defaultdict(lambda: ZERO)
    received = defaultdict(lambda: defaultdict(lambda: ZERO))
    for batch in grant_batches(grants):
        for grant in batch:
            if grant_problems(grant, on=on, codes=code_lists):
                continue
            for (start, _end), amount in grant_budgets(grant, org):
                budget[fiscal_year_start(start, first_month)] += amount
            for row in grant.disbursements:
                spent[fiscal_year_start(row["disbursed_on"], first_month)] += row["amount_usd"]
    fund = fund_facts()
    partner_of = {c["id"]: c["partner_id"] for c in fund.contributions}
    for receipt in fund.receipts:
        if receipt["received_on"] <= on:
            year = fiscal_year_start(receipt["received_on"], first_month)
            received[year][partner_of[receipt["contribution_id"]]] += receipt["usd_amount"]
    return {"budget": budget, "spent": spent, "received": received, "partners": fund.partners}


def organisation_chunks(*, on: date | None = None, grants=None) -> Iterator[bytes]:
    org = reporting_org()
    on = on or today()
    now = timezone.now()
    figures = organisation_figures(on=on, grants=grants)
    element = etree.Element(
        "iati-organisation",
        {
            "last-updated-datetime": stamp(now),
            XML_LANG: org.language,
            "default-currency": org.currency,
        },
    )
    sub(element, "organisation-identifier").text = org.ref
    narrative(element, "name", org.name)
    narrative(element, "reporting-org", org.name, {"ref": org.ref, "type": org.type})
    years = sorted(set(figures["budget"]) | set(figures["received"]))
    for year in years:
        total = sub(element, "total-budget", status=codes.BUDGET_COMMITTED)
        sub(total, "period-start", {"iso-date": year.isoformat()})
        sub(total, "period-end", {"iso-date": fiscal_year_end(year).isoformat()})
        sub(total, "value", {"value-date": year.isoformat()}).text = money(
            figures["budget"].get(year, ZERO)
        )
        received = figures["received"].get(year, {})
        partners = figures["partners"]
        for partner_id in sorted(received, key=lambda p: partners[p]["name"]):
            line = sub(total, "budget-line", ref=partners[partner_id]["code"])
            sub(line, "value", {"value-date": year.isoformat()}).text = money(received[partner_id])
            narrative(line, None, f"Contributions received from {partners[partner_id]['name']}")
    for year in sorted(figures["spent"]):
        end = fiscal_year_end(year)
        if end >= on:
            continue  # not a past year yet
        spent = sub(element, "total-expenditure")
        sub(spent, "period-start", {"iso-date": year.isoformat()})
        sub(spent, "period-end", {"iso-date": end.isoformat()})
        sub(spent, "value", {"value-date": year.isoformat()}).text = money(figures["spent"][year])
    sink = _Sink()
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(
            "iati-organisations", {"version": codes.VERSION, "generated-datetime": stamp(now)}
        ):
            xf.write(element, pretty_print=True)
    yield sink.take()
