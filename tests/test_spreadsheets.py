"""seetf.common.spreadsheets: the one formula-injection rule and the report layout that
the CSV and XLSX downloads share, tried on a report without a database."""

import csv
import datetime
import io
import zoneinfo
from decimal import Decimal

import openpyxl
import pytest

from seetf.common.spreadsheets import for_people, report_csv, report_xlsx, safe_cell

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd", "'+cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturned", "'\rReturned"),
        ("+100", "'+100"),  # a plus sign is not how the API writes a number
        ("-1,000.00", "'-1,000.00"),  # nor are thousands separators
        ("-100.00\n", "'-100.00\n"),
        ("-", "'-"),
        # Numbers, and text that is a plain decimal number, stay as they are.
        ("-100.00", "-100.00"),
        ("-5", "-5"),
        ("100000.00", "100000.00"),
        (Decimal("-100.00"), Decimal("-100.00")),
        (-3, -3),
        (True, True),
        (None, None),
        # Harmless text.
        ("Hospital Policy", "Hospital Policy"),
        ("a=b", "a=b"),
        ("'=already", "'=already"),
        ("", ""),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected
    assert type(safe_cell(value)) is type(expected)


REPORT = {
    "rows": [
        {"name": "=1+2", "amount": Decimal("-100.00"), "text_amount": "-100.00", "n": 3},
        {"name": "@x", "amount": Decimal("1234567.50"), "text_amount": "-2+3", "n": -4},
    ],
    "totals": {"amount": Decimal("1234467.50"), "n": -1},
}


def test_csv_neutralises_text_and_keeps_negative_money_a_number():
    rows = list(csv.reader(io.StringIO(report_csv(REPORT).decode("utf-8-sig"))))

    assert rows == [
        ["name", "amount", "text_amount", "n"],
        ["'=1+2", "-100.00", "-100.00", "3"],
        ["'@x", "1234567.50", "'-2+3", "-4"],
        ["TOTAL", "1234467.50", "", "-1"],
    ]


def test_xlsx_neutralises_text_and_keeps_negative_money_a_number():
    sheet = openpyxl.load_workbook(io.BytesIO(report_xlsx(REPORT, title="t"))).active

    assert [c.value for c in sheet[2]] == ["'=1+2", -100, "-100.00", 3]
    assert sheet["A2"].data_type == "s"  # text, not a formula
    assert sheet["B2"].data_type == "n" and sheet["B2"].number_format == "#,##0.00"
    assert [c.value for c in sheet[3]] == ["'@x", 1234567.5, "'-2+3", -4]
    assert [c.value for c in sheet[4]] == ["TOTAL", 1234467.5, None, -1]


def test_xlsx_types_dates_timestamps_booleans_and_drops_what_xml_cannot_carry(settings):
    settings.TIME_ZONE = "America/New_York"
    at = datetime.datetime(2026, 7, 1, 16, 30, tzinfo=datetime.UTC)
    report = {
        "rows": [
            {
                "on": datetime.date(2011, 5, 2),
                "at": at,
                "ok": True,
                "text": "bell\x07 #N/A",
                "error_code": "#N/A",
                "long": "x" * 40000,
            }
        ],
        "totals": {},
    }
    sheet = openpyxl.load_workbook(io.BytesIO(report_xlsx(report))).active

    on, at_cell, ok, text, error_code, long = sheet[2]
    assert on.value == datetime.datetime(2011, 5, 2) and on.is_date
    assert at_cell.value == at.astimezone(zoneinfo.ZoneInfo("America/New_York")).replace(
        tzinfo=None
    )
    assert at_cell.value == datetime.datetime(2026, 7, 1, 12, 30) and at_cell.is_date
    assert ok.value is True and ok.data_type == "b"
    assert text.value == "bell #N/A"
    assert error_code.value == "#N/A" and error_code.data_type == "s"
    assert len(long.value) == 32767
    assert sheet.max_row == 2  # no totals: no TOTAL row


def test_error_bodies_are_one_row_in_both_formats():
    body = {"detail": "-not allowed", "code": "permission_denied"}

    assert report_csv(body).decode("utf-8-sig").splitlines() == [
        "detail,code",
        "'-not allowed,permission_denied",
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(report_xlsx(body))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["detail", "code"],
        ["'-not allowed", "permission_denied"],
    ]


def test_csv_starts_with_a_byte_order_mark_for_excel():
    content = report_csv({"rows": [{"name": "São Tomé and Príncipe"}], "totals": {}})
    assert content.startswith(b"\xef\xbb\xbf")
    assert content.decode("utf-8-sig").splitlines() == ["name", "São Tomé and Príncipe"]


def test_for_people_drops_ids_and_empty_columns_and_labels_codes():
    data = {
        "rows": [
            {"id": 7, "region": "LCR", "status": "partially_received", "note": None, "n": 1},
            {"id": 8, "region": "AFR", "status": "received", "note": "", "n": 2},
        ],
        "totals": {"n": 3, "note": 0},
    }
    people = for_people(
        data,
        labels={
            "region": {"LCR": "Latin America and the Caribbean", "AFR": "Sub-Saharan Africa"},
            "status": {"partially_received": "Partially received", "received": "Received"},
        },
    )
    assert list(people["rows"][0]) == ["region", "region_label", "status", "status_label", "n"]
    assert people["rows"][0]["region_label"] == "Latin America and the Caribbean"
    assert people["rows"][1]["status_label"] == "Received"
    assert people["totals"] == {"n": 3}
    # Without rows, the columns stay (the header says what the table holds).
    assert for_people({"rows": [], "totals": {"n": 0}}) == {"rows": [], "totals": {"n": 0}}
