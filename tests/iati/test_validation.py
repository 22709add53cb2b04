"""The validator's three layers, and `iati_validate`: an XSD-valid file with a bogus
sector, an alpha-3 country, transaction type 99 or a date in 2099 fails."""

from io import BytesIO, StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from lxml import etree

from iati.conf import SchemaDirMissing
from iati.data import fiscal_periods, largest_remainder, percentages
from iati.validation import errors, validate
from tests.factories import make_contribution, make_receipt
from tests.grants.factories import make_grant

from .conftest import file_bytes, official_xsd

pytestmark = pytest.mark.django_db


@pytest.fixture
def valid_file(fund_manager, leader):
    make_receipt(make_contribution(pledged_amount="500000.00"), "500000.00")
    make_grant(leader, "approved", manager=fund_manager)
    xml = file_bytes("activities").decode()
    assert errors(validate(BytesIO(xml.encode()))) == []
    return xml


def broken(xml: str, old: str, new: str) -> bytes:
    assert old in xml, old
    return xml.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "layer", "says"),
    [
        ('code="16010"', 'code="16999"', "codelist", "not a code of the Sector codelist"),
        ('<recipient-country code="HN"', '<recipient-country code="HND"', "codelist", "Country"),
        (
            '<transaction-type code="3"/>',
            '<transaction-type code="99"/>',
            "codelist",
            "TransactionType",
        ),
        (
            'iso-date="2026-02-01"/>\n    <value',
            'iso-date="2099-02-01"/>\n    <value',
            "ruleset",
            "11.2.1",
        ),
        (
            '<activity-date type="2" iso-date="2026-02-01"/>',
            '<activity-date type="2" iso-date="2099-02-01"/>',
            "ruleset",
            "11.1.4",
        ),
    ],
    ids=[
        "bogus-sector",
        "alpha-3-country",
        "transaction-type-99",
        "transaction-in-2099",
        "start-in-2099",
    ],
)
def test_an_xsd_valid_file_with_a_wrong_code_or_date_fails(
    official_iati_files, valid_file, fund_manager, old, new, layer, says
):
    from datetime import date
    from decimal import Decimal

    from grants import services
    from grants.models import Grant

    # A disbursement, so that there is a type 3 transaction and an actual start.
    grant = Grant.objects.get()
    services.disbursement_record(
        grant=grant, user=fund_manager, amount_usd=Decimal("1000.00"), disbursed_on=date(2026, 2, 1)
    )
    xml = file_bytes("activities").decode()
    bad = broken(xml, old, new)
    assert official_xsd(official_iati_files, "activities").validate(etree.fromstring(bad))
    found = errors(validate(BytesIO(bad)))
    assert found, f"{old} -> {new} passed"
    assert {f.layer for f in found} == {layer}
    assert any(says in str(f) for f in found), [str(f) for f in found]
    assert all(f.line for f in found)


def test_the_schema_layer_reports_lines(valid_file):
    bad = broken(valid_file, "<activity-status", "<activity-stats")
    found = errors(validate(BytesIO(bad)))
    assert found and found[0].layer == "schema" and found[0].line > 1


def test_ruleset_percentages_and_identifiers(valid_file):
    bad = broken(valid_file, 'percentage="100.00"', 'percentage="99.00"')
    two = bad.decode().replace(
        '<recipient-country code="HN" percentage="99.00"/>',
        '<recipient-country code="HN" percentage="60.00"/>'
        '<recipient-country code="MX" percentage="39.99"/>',
    )
    found = errors(validate(BytesIO(two.encode())))
    assert any(f.rule == "3.1.2" for f in found), [str(f) for f in found]
    prefix = valid_file.replace(
        "<iati-identifier>XM-DAC-44000-SEETF-", "<iati-identifier>XX-OTHER-SEETF-", 1
    )
    found = validate(BytesIO(prefix.encode()))
    assert any(f.rule == "1.1.21" for f in found)


def test_iati_validate_exits_0_for_valid_files_and_1_with_each_error(tmp_path, valid_file):
    good = tmp_path / "good.xml"
    good.write_text(valid_file)
    out = StringIO()
    call_command("iati_validate", str(good), stdout=out)
    assert "valid (0 errors" in out.getvalue()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(broken(valid_file, 'code="16010"', 'code="16999"'))
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("iati_validate", str(good), str(bad), stdout=out)
    assert exit_.value.code == 1
    text = out.getvalue()
    assert f"{bad}: line " in text and "codelist error" in text and "INVALID, 1 errors" in text


def test_without_iati_schema_dir_the_validator_says_so(settings, tmp_path, valid_file):
    settings.IATI_SCHEMA_DIR = ""
    path = tmp_path / "a.xml"
    path.write_text(valid_file)
    with pytest.raises(CommandError, match="IATI_SCHEMA_DIR is not set"):
        call_command("iati_validate", str(path), stdout=StringIO())
    settings.IATI_SCHEMA_DIR = str(tmp_path)
    with pytest.raises(SchemaDirMissing, match="lacks the official IATI files"):
        validate(str(path))
    # The files are still published without it (the codelist checks then use the
    # project's own reference data).
    assert file_bytes("activities").startswith(b"<?xml")


def test_largest_remainder_sums_exactly():
    assert [str(p) for p in percentages(3)] == ["33.34", "33.33", "33.33"]
    # 100 / 7 = 14.2857...: four shares of 14.29 and three of 14.28.
    assert [str(p) for p in percentages(7)] == ["14.29"] * 4 + ["14.28"] * 3
    assert sum(percentages(7)) == 100
    from decimal import Decimal

    parts = largest_remainder(Decimal("100000.00"), [184, 181])
    assert sum(parts) == Decimal("100000.00")


def test_fiscal_periods_never_exceed_a_year():
    from datetime import date

    assert fiscal_periods(date(2025, 3, 1), date(2027, 8, 31), 7) == [
        (date(2025, 3, 1), date(2025, 6, 30)),
        (date(2025, 7, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2027, 6, 30)),
        (date(2027, 7, 1), date(2027, 8, 31)),
    ]
    assert fiscal_periods(date(2025, 1, 1), date(2025, 12, 31), 1) == [
        (date(2025, 1, 1), date(2025, 12, 31))
    ]
