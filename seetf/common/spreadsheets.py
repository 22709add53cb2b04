"""Reports as spreadsheets: CSV and Excel (XLSX) from the same ``{"rows", "totals"}``.

One rule for both formats, in one place:

- ``safe_cell`` neutralises formula injection (OWASP "CSV Injection"): a text cell that
  begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a single quote in
  front, so that a spreadsheet shows it as text and never runs it as a formula
  (``=HYPERLINK("http://x","y")`` becomes ``'=HYPERLINK("http://x","y")``). Numbers are
  left as they are: values that are numbers (``Decimal``, ``int``, ``float``; booleans,
  dates and timestamps are not text either), and text that is a plain decimal number,
  ``-?[0-9]+(\\.[0-9]+)?`` (the API's money, ``"-100.00"``, ``"-5"``). Anything else
  that begins so is neutralised, ``"-2+3"``, ``"+100"`` and ``"-1,000.00"`` included.
- ``report_csv`` writes UTF-8 with a byte-order mark: Excel reads a CSV without one in
  the machine's legacy code page and garbles every accent ("São Tomé"); the mark is
  what tells it the file is UTF-8 (Python reads it with ``utf-8-sig``).
- ``for_people`` readies a page's download for a person rather than a program: no
  internal ids, a readable label beside each code, no column empty in every row.
- ``report_table`` lays a report out: the columns (the rows' keys in order of first
  appearance, then any total's key not among them), the rows, and a ``TOTAL`` line with
  each total under its column (``TOTAL`` in the first column when that column has no
  total).

In XLSX, cells keep their types: money (``Decimal``) is a number formatted ``#,##0.00``,
integers numbers, booleans booleans, dates dates, timestamps datetimes in the fund's time
zone (``TIME_ZONE``) without one (Excel has none). A report read from a serializer's
``.data`` has its money, dates and timestamps as strings: ``fields`` (the serializer's
declaration, ``report_fields``) says which columns to read back as what.
"""

import csv
import datetime
import io
import re
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from rest_framework import serializers

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOTAL = "TOTAL"
# What a spreadsheet reads as the start of a formula (OWASP).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
# Excel's limit on the characters of one cell; longer text is cut there (else Excel
# "repairs" the file, dropping the cell).
XLSX_CELL_LIMIT = 32767
# Characters XML 1.0 cannot carry (controls other than tab, newline and carriage return):
# openpyxl refuses them, so they are dropped from XLSX text.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value):
    """The value, neutralised if it is text a spreadsheet would run as a formula."""
    if isinstance(value, Promise):  # a translated label: text in the active language
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_LEADS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def report_table(data) -> tuple[list[str], list[dict], dict | None]:
    """The columns, the rows and the totals (None without) of a report
    ``{"rows": [...], "totals": {...}}``; any other body (an error: ``{"detail", "code"}``)
    is one row with a column per key."""
    if not isinstance(data, dict) or "rows" not in data:
        data = {"rows": [data] if isinstance(data, dict) else [], "totals": {}}
    rows = data.get("rows") or []
    totals = data.get("totals") or {}
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    for key in totals:
        if key not in columns:
            columns.append(key)
    return columns, rows, (totals or None)


def for_people(data, *, labels: dict | None = None, drop=("id",)) -> dict:
    """A report ``{"rows", "totals"}`` as a person downloads it from a page: the columns
    in ``drop`` (internal ids) left out; beside each column of ``labels``
    (``{column: {code: label}}``) a ``<column>_label`` column with the code's label; and
    every column empty (None or "") in every row left out, its total with it. A report
    without rows keeps its columns (the header says what the table would hold). The
    API's reports are left as the contract declares them."""
    labels = labels or {}
    rows = []
    for row in data.get("rows") or []:
        out = {}
        for key, value in row.items():
            if key in drop:
                continue
            out[key] = value
            if key in labels:
                out[f"{key}_label"] = str(labels[key].get(value, value or ""))
        rows.append(out)
    totals = {k: v for k, v in (data.get("totals") or {}).items() if k not in drop}
    if rows:
        empty = {
            key
            for key in {k for row in rows for k in row} | set(totals)
            if all(row.get(key) in (None, "") for row in rows)
        }
        rows = [{k: v for k, v in row.items() if k not in empty} for row in rows]
        totals = {k: v for k, v in totals.items() if k not in empty}
    return {"rows": rows, "totals": totals}


def _total_line(columns, totals) -> list:
    line = [totals.get(c) if c in totals else None for c in columns]
    if columns and columns[0] not in totals:
        line[0] = TOTAL
    return line


# --- CSV ------------------------------------------------------------------------------------


def _csv_cell(value):
    if isinstance(value, Promise):
        value = str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    return safe_cell(value)


def report_csv(data) -> bytes:
    """The report as CSV (UTF-8 with a byte-order mark, for Excel): a header, the rows,
    then the TOTAL line."""
    columns, rows, totals = report_table(data)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    if totals:
        writer.writerow([_csv_cell(v) for v in _total_line(columns, totals)])
    return out.getvalue().encode("utf-8-sig")


# --- XLSX -----------------------------------------------------------------------------------


def report_fields(serializer_class) -> dict:
    """``{"rows": {column: field}, "totals": {column: field}}`` from a report serializer
    (``rows = RowSerializer(many=True)``, ``totals = TotalsSerializer()``)."""
    if serializer_class is None:
        return {"rows": {}, "totals": {}}
    fields = serializer_class().fields
    rows = fields.get("rows")
    totals = fields.get("totals")
    return {
        "rows": dict(rows.child.fields) if isinstance(rows, serializers.ListSerializer) else {},
        "totals": dict(totals.fields) if isinstance(totals, serializers.Serializer) else {},
    }


def _typed(value, field):
    """The value as Excel should hold it: a string the serializer wrote from a decimal,
    a date or a timestamp read back as one; a timestamp made naive in the fund's zone."""
    if isinstance(value, str) and field is not None:
        if isinstance(field, serializers.DecimalField):
            try:
                return Decimal(value)
            except ArithmeticError:
                return value
        if isinstance(field, serializers.DateTimeField):
            value = parse_datetime(value) or value
        elif isinstance(field, serializers.DateField):
            value = parse_date(value) or value
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).replace(tzinfo=None)
    return value


def _xlsx_cell(sheet, value, *, bold=False):
    if isinstance(value, Promise):  # a translated label (a choice's): its text
        value = str(value)
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    if isinstance(value, str):
        text = safe_cell(_XML_ILLEGAL.sub("", value))[:XLSX_CELL_LIMIT]
        cell = WriteOnlyCell(sheet, text)
        # Text is text: never a formula ("=..."), nor an error code ("#N/A").
        cell.data_type = "s"
    else:
        cell = WriteOnlyCell(sheet, value)
        if isinstance(value, Decimal):
            cell.number_format = MONEY_FORMAT
        elif isinstance(value, datetime.datetime):
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, datetime.date):
            cell.number_format = DATE_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell


def report_xlsx(data, *, title: str = "report", fields: dict | None = None) -> bytes:
    """The report as an Excel workbook of one sheet: a bold header row with the panes
    frozen under it, the rows, then the TOTAL row (bold). Written in openpyxl's
    write-only mode, which streams rows instead of holding a cell object for each."""
    fields = fields or {"rows": {}, "totals": {}}
    columns, rows, totals = report_table(data)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", "-", title)[:31] or "report")
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns):
        width = max(12, min(len(column) + 4, 60))
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.append([_xlsx_cell(sheet, c, bold=True) for c in columns])
    row_fields = fields["rows"]
    for row in rows:
        sheet.append([_xlsx_cell(sheet, _typed(row.get(c), row_fields.get(c))) for c in columns])
    if totals:
        total_fields = fields["totals"]
        line = _total_line(columns, totals)
        sheet.append(
            [
                _xlsx_cell(sheet, _typed(value, total_fields.get(column)), bold=True)
                for column, value in zip(columns, line, strict=True)
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
