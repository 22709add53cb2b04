"""What both files must show, checked on any data: every layer valid (the project's
validator, and lxml with the official XSDs alone), and the money adding up."""

from decimal import Decimal
from io import BytesIO

from lxml import etree

from grants.models import APPROVED_AND_LATER, Grant
from iati.conf import reporting_org
from iati.validation import validate
from partners.models import Contribution, Fund

from .conftest import activities, file_bytes, official_xsd, transactions, usd_sum, value_sum


def assert_valid(folder, kind: str, xml: bytes) -> None:
    findings = validate(BytesIO(xml))
    by_layer = {
        layer: [str(f) for f in findings if f.layer == layer]
        for layer in ("schema", "codelist", "ruleset")
    }
    assert by_layer == {"schema": [], "codelist": [], "ruleset": []}
    schema = official_xsd(folder, kind)
    assert schema.validate(etree.fromstring(xml)), schema.error_log


def assert_sums(xml: bytes) -> int:
    """The fund's and each grant's money, from the file, against the database. Returns
    how many grant activities it checked."""
    found = activities(xml)
    org = reporting_org()
    fund = Fund.objects.get()
    fund_activity = found.pop(org.fund_activity_id)
    assert fund_activity.get("hierarchy") == "1"
    assert usd_sum(transactions(fund_activity, "1")) == fund.received_usd
    pledged = sum(Contribution.objects.values_list("pledged_usd", flat=True), Decimal("0.00"))
    assert usd_sum(transactions(fund_activity, "11")) == pledged
    assert len(transactions(fund_activity, "11")) == Contribution.objects.count()
    grants = Grant.objects.filter(status__in=APPROVED_AND_LATER).values(
        "reference", "approved_usd", "released_usd", "disbursed_usd"
    )
    committed = disbursed = Decimal("0.00")
    children = {
        r.get("ref") for r in fund_activity.iter("related-activity") if r.get("type") == "2"
    }
    for grant in grants:
        identifier = org.grant_activity_id(grant["reference"])
        activity = found.pop(identifier)
        assert activity.get("hierarchy") == "2"
        commitments = value_sum(transactions(activity, "2"))
        assert commitments == grant["approved_usd"] - grant["released_usd"], identifier
        assert value_sum(transactions(activity, "3")) == grant["disbursed_usd"], identifier
        budgets = sum((Decimal(b.findtext("value")) for b in activity.iter("budget")), Decimal(0))
        assert budgets == grant["approved_usd"], identifier
        shares = [Decimal(c.get("percentage")) for c in activity.iter("recipient-country")]
        assert not shares or sum(shares) == Decimal("100.00"), identifier
        parents = [r.get("ref") for r in activity.iter("related-activity") if r.get("type") == "1"]
        assert parents == [org.fund_activity_id]
        assert identifier in children
        committed += commitments
        disbursed += grant["disbursed_usd"]
    assert found == {}, "activities of grants that are not approved or later"
    assert committed == fund.committed_usd
    assert disbursed == fund.disbursed_usd
    assert len(children) == len(grants)
    return len(grants)


def check_both_files(folder) -> dict:
    xml = file_bytes("activities")
    assert_valid(folder, "activities", xml)
    checked = assert_sums(xml)
    organisation = file_bytes("organisation")
    assert_valid(folder, "organisation", organisation)
    return {"activities": xml, "organisation": organisation, "grants": checked}
