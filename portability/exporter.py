"""Writing the portfolio workbook: the export (what the database holds, ``records``)
and the template (a header row and an example row per sheet, and the allowed codes),
as one ``.xlsx`` or as a folder of CSV files, in the layout the importer reads.

Text cells are neutralised against formula injection (``safe_cell``: a leading ``=``,
``+``, ``-``, ``@`` gets a ``'`` in front, which the importer takes off again); money is
a number formatted ``#,##0.00``, dates are dates, lists of codes are separated by spaces.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from partners.models import Country, Sector
from seetf.common.spreadsheets import DATE_FORMAT, MONEY_FORMAT, safe_cell

from .records import grant_row_batches, other_rows
from .schema import CODE_LISTS, CODES_SHEET, HELP_SHEET, SHEETS

_BOLD = Font(bold=True)


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return " ".join(str(v) for v in value)
    return value


def _cell(sheet, value, *, bold: bool = False):
    value = _plain(value)
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, safe_cell(value)[:32767] if value else None)
        cell.data_type = "s"
    else:
        cell = WriteOnlyCell(sheet, value)
        if isinstance(value, Decimal):
            cell.number_format = MONEY_FORMAT
        elif isinstance(value, datetime.date):
            cell.number_format = DATE_FORMAT
    if bold:
        cell.font = _BOLD
    return cell


def code_rows() -> list[tuple[str, str, str]]:
    """(list, code, name) of every code the workbook's columns take."""
    rows = [("country", c.code, c.name) for c in Country.objects.order_by("code")]
    rows += [("sector", s.code, s.name) for s in Sector.objects.order_by("code")]
    for name, choices in CODE_LISTS.items():
        rows += [(name, str(code), str(label)) for code, label in choices]
    rows.append(("currency", "USD", "ISO 4217 codes: USD, EUR, GBP, DKK..."))
    return rows


def template_rows() -> dict[str, list[dict]]:
    return {s.name: [{c.name: c.example for c in s.columns}] for s in SHEETS}


def write_xlsx(rows: dict[str, list[dict]], *, codes: bool = False) -> bytes:
    out = io.BytesIO()
    write_xlsx_to(out, [rows], codes=codes)
    return out.getvalue()


def write_xlsx_to(out, batches: Iterable[dict[str, list[dict]]], *, codes: bool = False) -> None:
    """The workbook written to ``out`` (a path or a binary file) from ``batches`` of
    rows (``{sheet: [row, ...]}``), each appended to its sheets as it comes: openpyxl's
    write-only sheets keep their rows in temporary files, so memory holds one batch."""
    workbook = Workbook(write_only=True)
    sheets = {}
    for spec in SHEETS:
        sheet = sheets[spec.name] = workbook.create_sheet(spec.name)
        sheet.freeze_panes = "A2"
        for index, column in enumerate(spec.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(12, len(column.name) + 4)
        sheet.append([_cell(sheet, c.name, bold=True) for c in spec.columns])
    for rows in batches:
        for spec in SHEETS:
            sheet = sheets[spec.name]
            for row in rows.get(spec.name, ()):
                sheet.append([_cell(sheet, row.get(c.name)) for c in spec.columns])
    if codes:
        sheet = workbook.create_sheet(CODES_SHEET)
        sheet.freeze_panes = "A2"
        sheet.append([_cell(sheet, h, bold=True) for h in ("list", "code", "name")])
        for line in code_rows():
            sheet.append([_cell(sheet, v) for v in line])
        sheet = workbook.create_sheet(HELP_SHEET)
        sheet.append([_cell(sheet, h, bold=True) for h in ("sheet", "column", "required", "note")])
        for spec in SHEETS:
            sheet.append([_cell(sheet, spec.name), None, None, _cell(sheet, spec.help)])
            for c in spec.columns:
                note = c.help or (f"one of the {c.kind} codes" if c.choices else c.kind)
                sheet.append(
                    [
                        _cell(sheet, spec.name),
                        _cell(sheet, c.name),
                        _cell(sheet, "yes" if c.required else ""),
                        _cell(sheet, note),
                    ]
                )
    workbook.save(out)


def _csv_value(value):
    value = _plain(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return safe_cell(value) if isinstance(value, str) else str(value)


def write_csv_folder(
    rows: dict[str, list[dict]] | Iterable[dict[str, list[dict]]],
    folder: Path,
    *,
    codes: bool = False,
) -> None:
    """The CSV files, from one dict of rows or from batches of them (as ``write_xlsx_to``)."""
    batches = [rows] if isinstance(rows, dict) else rows
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        writers = {}
        for spec in SHEETS:
            handle = stack.enter_context(
                open(folder / f"{spec.name}.csv", "w", newline="", encoding="utf-8")
            )
            writers[spec.name] = csv.writer(handle)
            writers[spec.name].writerow(spec.names)
        for batch in batches:
            for spec in SHEETS:
                for row in batch.get(spec.name, ()):
                    writers[spec.name].writerow([_csv_value(row.get(c.name)) for c in spec.columns])
    if codes:
        with open(folder / f"{CODES_SHEET}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["list", "code", "name"])
            writer.writerows(code_rows())


def portfolio_batches() -> Iterator[dict[str, list[dict]]]:
    """The export's rows: the small sheets, then the grants' sheets a batch at a time."""
    yield other_rows()
    yield from grant_row_batches()


def export_portfolio() -> bytes:
    """The whole portfolio as the workbook the importer reads."""
    out = io.BytesIO()
    write_xlsx_to(out, portfolio_batches())
    return out.getvalue()


def template_workbook() -> bytes:
    return write_xlsx(template_rows(), codes=True)


def write(out: Path, *, template: bool = False) -> None:
    """Write the export (or the template) to ``out``: an .xlsx file, or a folder of CSV
    files when ``out`` has no .xlsx suffix. The export streams: memory holds a batch of
    grants, not the portfolio, and the workbook goes to the file, not through memory."""
    rows = [template_rows()] if template else portfolio_batches()
    if out.suffix.lower() == ".xlsx":
        write_xlsx_to(out, rows, codes=template)
    else:
        write_csv_folder(rows, out, codes=template)
