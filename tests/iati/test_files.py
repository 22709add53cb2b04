"""Both files on the 2011 review's data and on a generated portfolio of 2,000 grants:
zero schema, codelist and ruleset errors, and the sums hold (issue 15, done when)."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from lxml import etree

from bench.portfolio import generate_portfolio
from grants import services as grant_services
from grants.models import Grant, GrantStatus
from iati.checks import all_problems
from iati.conf import reporting_org
from partners.models import Fund
from partners.services import receipt_reverse
from results import services as result_services
from tests.factories import make_contribution, make_receipt
from tests.grants.factories import REPORT, make_grant
from tests.results.factories import make_story

from .conftest import activities, file_bytes, transactions, usd_sum, value_sum
from .sums import check_both_files

pytestmark = pytest.mark.django_db


def test_the_2011_review_publishes_valid_files_whose_sums_hold(official_iati_files):
    call_command("load_review_2011", stdout=StringIO())
    assert all_problems() == []
    files = check_both_files(official_iati_files)
    assert files["grants"] == 21
    found = activities(files["activities"])
    org = reporting_org()
    fund = found[org.fund_activity_id]
    assert usd_sum(transactions(fund, "1")) == Decimal("9516087.00")
    providers = {p.findtext("narrative"): p.get("ref") for p in fund.iter("provider-org")}
    assert providers["Denmark"] == "XM-DAC-3" and providers["United Kingdom"] == "XM-DAC-12"
    assert providers["China"] is None  # the review gives no identifier: none is guessed
    # The six exchanges of the review's boxes have countries; the others their region.
    with_countries = [a for a in found.values() if a.find("recipient-country") is not None]
    assert len(with_countries) == 6
    # A published story is linked from its grant's activity.
    links = [link.get("url") for a in found.values() for link in a.iter("document-link")]
    assert len(links) == 6 and all("/stories/" in url for url in links)
    organisation = etree.fromstring(files["organisation"])
    lines = {
        line.findtext("narrative"): Decimal(line.findtext("value"))
        for line in organisation.iter("budget-line")
    }
    assert sum(lines.values()) == Decimal("9516087.00")
    assert lines["Contributions received from Spain"] == Decimal("3291400.00")
    for period in organisation.iter("total-budget", "total-expenditure"):
        start = date.fromisoformat(period.find("period-start").get("iso-date"))
        end = date.fromisoformat(period.find("period-end").get("iso-date"))
        assert (end - start).days < 366
    spent = sum(Decimal(e.findtext("value")) for e in organisation.iter("total-expenditure"))
    assert spent == Fund.objects.get().disbursed_usd


def test_a_generated_portfolio_of_2000_grants_publishes_valid_files(official_iati_files):
    generate_portfolio(grants=2000, seed=1)
    assert all_problems() == []
    files = check_both_files(official_iati_files)
    published = Grant.objects.filter(
        status__in=["approved", "completed", "closed", "cancelled"]
    ).count()
    assert files["grants"] == published > 1000
    found = activities(files["activities"])
    # Receipts in other currencies: the original currency, the USD credited beside it.
    currencies = {
        t.find("value").get("currency")
        for t in transactions(found[reporting_org().fund_activity_id], "1")
    }
    assert len(currencies) > 5


def test_each_movement_of_a_grant_is_a_transaction(fund_manager, leader, leader2):
    contribution = make_contribution(pledged_amount="900000.00")
    make_receipt(contribution, "900000.00", received_on=date(2025, 1, 5))
    approved = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    first = grant_services.disbursement_record(
        grant=approved,
        user=fund_manager,
        amount_usd=Decimal("30000.00"),
        disbursed_on=date(2026, 2, 1),
    )
    grant_services.disbursement_reverse(disbursement=first, user=fund_manager, reason="Wrong grant")
    grant_services.disbursement_record(
        grant=approved,
        user=fund_manager,
        amount_usd=Decimal("20000.00"),
        disbursed_on=date(2026, 2, 3),
    )
    cancelled = make_grant(leader, GrantStatus.CANCELLED, manager=fund_manager)
    closed = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    grant_services.exchange_create(
        grant=closed,
        user=fund_manager,
        instrument="study_tour",
        title="A study tour",
        start_date=date(2026, 2, 1),
        end_date=date(2026, 2, 5),
        status="held",
        participants=20,
        women_participants=9,
    )
    result_services.completion_report_save(grant=closed, user=leader, **REPORT)
    result_services.completion_report_submit(grant=closed, user=leader)
    result_services.completion_report_accept(grant=closed, user=fund_manager)
    closed = grant_services.grant_transition(grant=closed, user=fund_manager, action="close")
    make_story(fund_manager, closed, published=True)
    make_story(fund_manager, closed, title="Not yet published")
    for status in ("draft", "submitted", "under_review", "returned", "rejected"):
        make_grant(leader2, status, manager=fund_manager)
    xml = file_bytes("activities")
    found = activities(xml)
    org = reporting_org()
    assert set(found) == {
        org.fund_activity_id,
        *(org.grant_activity_id(g.reference) for g in (approved, cancelled, closed)),
    }
    approved.refresh_from_db()
    activity = found[org.grant_activity_id(approved.reference)]
    assert activity.find("activity-status").get("code") == "2"
    # By date: the reversal is dated the day it was made (today).
    assert [Decimal(t.findtext("value")) for t in transactions(activity, "3")] == [
        Decimal("30000.00"),
        Decimal("20000.00"),
        Decimal("-30000.00"),
    ]
    assert value_sum(transactions(activity, "3")) == approved.disbursed_usd == Decimal("20000.00")
    cancelled.refresh_from_db()
    activity = found[org.grant_activity_id(cancelled.reference)]
    assert activity.find("activity-status").get("code") == "5"
    commitments = [Decimal(t.findtext("value")) for t in transactions(activity, "2")]
    assert commitments == [cancelled.approved_usd, -cancelled.released_usd]
    activity = found[org.grant_activity_id(closed.reference)]
    assert activity.find("activity-status").get("code") == "4"
    outcomes = [r for r in activity.iter("result") if r.get("type") == "2"][0]
    indicators = outcomes.findall("indicator")
    assert len(indicators) == 6 and {i.get("measure") for i in indicators} == {"5"}
    achieved = {
        i.findtext("title/narrative"): i.findtext("period/actual/comment/narrative")
        for i in indicators
    }
    assert achieved["Raised awareness"] == "Achieved"
    assert achieved["Strengthened coalitions"] == "Not achieved"
    assert len(list(activity.iter("document-link"))) == 1
    assert [r.get("type") for r in activity.iter("result")] == ["2", "1"]
    output = [r for r in activity.iter("result") if r.get("type") == "1"][0]
    assert [i.find("period/actual").get("value") for i in output.iter("indicator")] == ["20", "9"]
    actual_start = [d for d in activity.iter("activity-date") if d.get("type") == "2"][0]
    assert actual_start.get("iso-date") == "2026-02-01"


def test_a_reversed_receipt_is_negative_incoming_funds(fund_manager):
    contribution = make_contribution(
        currency="DKK", pledged_amount="1000000.00", pledged_usd="150000.00"
    )
    receipt = make_receipt(
        contribution, "400000.00", usd_amount="60000.00", received_on=date(2025, 3, 1)
    )
    make_receipt(contribution, "100000.00", usd_amount="15000.00", received_on=date(2025, 4, 1))
    receipt_reverse(receipt=receipt, user=fund_manager, reason="Paid to the wrong fund")
    found = activities(file_bytes("activities"))
    fund = found[reporting_org().fund_activity_id]
    incoming = transactions(fund, "1")
    assert [(t.find("value").get("currency"), t.findtext("value")) for t in incoming] == [
        ("DKK", "400000.00"),
        ("DKK", "100000.00"),
        ("DKK", "-400000.00"),
    ]
    assert usd_sum(incoming) == Fund.objects.get().received_usd == Decimal("15000.00")
    commitment = transactions(fund, "11")[0]
    assert commitment.find("value").get("currency") == "DKK"
    assert commitment.find("seetf:usd-value", {"seetf": "urn:seetf:iati"}).text == "150000.00"
