"""Reading a portfolio file: an ``.xlsx`` workbook, or a folder of CSV files (one per
sheet, ``partners.csv``...), into rows of canonical values (``schema``), each cell's
problem an :class:`Problem` (sheet, row, column, a sentence).

A workbook is checked before openpyxl opens it: its size (``PORTFOLIO_IMPORT_MAX_BYTES``),
that it is a zip at all, and that its members are not a zip bomb (their total
uncompressed size, ``PORTFOLIO_IMPORT_MAX_UNCOMPRESSED_BYTES``, and each member's
compression ratio, ``PORTFOLIO_IMPORT_MAX_RATIO``). Its worksheets are then streamed
(lxml's iterparse, entities and network off: ``read_xlsx``), reading the values as
stored, so that a formula is seen as one and refused: the importer reads values, never
computes them.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext

from seetf.common.money import is_whole_cents
from seetf.common.spreadsheets import FORMULA_LEADS

from .schema import CODES_SHEET, IGNORED_SHEETS, SHEET_BY_NAME, Column

MiB = 1024 * 1024


def max_bytes() -> int:
    return getattr(settings, "PORTFOLIO_IMPORT_MAX_BYTES", 20 * MiB)


def max_uncompressed_bytes() -> int:
    return getattr(settings, "PORTFOLIO_IMPORT_MAX_UNCOMPRESSED_BYTES", 400 * MiB)


def max_ratio() -> int:
    return getattr(settings, "PORTFOLIO_IMPORT_MAX_RATIO", 200)


@dataclass(frozen=True, order=True)
class Problem:
    sheet: str
    row: int  # the spreadsheet's row number (the header is row 1); 0: the file or sheet
    column: str
    message: str

    def __str__(self) -> str:
        where = self.sheet or "file"
        if self.row:
            where += f", row {self.row}"
        if self.column:
            where += f", {self.column}"
        return f"{where}: {self.message}"


class FileRefused(Exception):
    """The file cannot be read at all (too large, not a workbook, a zip bomb)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.problem = Problem("", 0, "", message)


@dataclass(slots=True)
class Row:
    """A sheet's row (slots: an import holds every row of the file at once, over a
    million at 200,000 grants; without an instance dictionary each takes 96 bytes, not
    136, besides its values)."""

    sheet: str
    number: int
    values: dict


# --- Cells ------------------------------------------------------------------------------

_SPLIT = re.compile(r"[\s,;]+")
_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0", ""}


class CellError(ValueError):
    pass


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    # The exporter's guard against formula injection (safe_cell) is taken off again.
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_LEADS):
        text = text[1:]
    return text


def parse_cell(column: Column, value):
    """The canonical value of a cell, or CellError with a sentence."""
    if isinstance(value, str) and value.startswith("=") and len(value) > 1:
        raise CellError(gettext("A formula: the import reads values; paste the values instead."))
    kind = column.kind
    if kind == "date":
        if value is None or value == "":
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(_text(value)[:10])
        except ValueError:
            raise CellError(
                gettext("'%(text)s' is not a date (YYYY-MM-DD).") % {"text": _text(value)}
            ) from None
    if kind == "money":
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise CellError(gettext("Give an amount, not yes/no."))
        try:
            amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise CellError(
                gettext("'%(text)s' is not an amount (e.g. 1234.50).") % {"text": _text(value)}
            ) from None
        if not amount.is_finite():
            raise CellError(gettext("'%(text)s' is not an amount.") % {"text": _text(value)})
        if not is_whole_cents(amount):
            raise CellError(
                gettext("%(amount)s has more than two decimal places.") % {"amount": amount}
            )
        return amount.quantize(Decimal("0.01"))
    if kind == "int":
        if value is None or value == "":
            return 0
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise CellError(
                gettext("'%(text)s' is not a whole number.") % {"text": _text(value)}
            ) from None
        if number < 0:
            raise CellError(gettext("Cannot be negative."))
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = _text(value).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise CellError(gettext("'%(text)s' is not yes or no.") % {"text": _text(value)})
    text = _text(value)
    if kind == "code":
        return text.upper()
    if kind == "codes":
        return tuple(sorted({part for part in _SPLIT.split(text) if part}))
    if kind == "choice":
        if text and text not in column.choices:
            shown = ", ".join(column.choices)
            raise CellError(
                gettext("'%(text)s' is not one of: %(shown)s.") % {"text": text, "shown": shown}
            )
        return text
    return text


def parse_row(sheet, number: int, header: list, cells, problems: list) -> Row | None:
    values = {}
    raw = list(cells) + [None] * (len(header) - len(cells))
    if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw[: len(header)]):
        return None
    columns = sheet.by_name
    for name, value in zip(header, raw, strict=False):
        if name is None:
            if value not in (None, ""):
                problems.append(
                    Problem(sheet.name, number, "", gettext("A value under no header."))
                )
            continue
        column = columns[name]
        try:
            values[name] = parse_cell(column, value)
        except CellError as exc:
            problems.append(Problem(sheet.name, number, name, str(exc)))
            values[name] = None
            continue
        if column.required and values[name] in (None, "", ()):
            problems.append(Problem(sheet.name, number, name, "Required."))
    for column in sheet.columns:
        values.setdefault(column.name, parse_cell(column, None))
    return Row(sheet.name, number, values)


def parse_header(sheet, cells, problems: list) -> list | None:
    header = []
    for cell in cells:
        name = _text(cell).lower() if cell is not None else ""
        if not name:
            header.append(None)
            continue
        if name not in sheet.names:
            problems.append(
                Problem(
                    sheet.name,
                    1,
                    name,
                    gettext("Unknown column; the columns are %(names)s.")
                    % {"names": ", ".join(sheet.names)},
                )
            )
            header.append(None)
            continue
        if name in header:
            problems.append(Problem(sheet.name, 1, name, gettext("This column is given twice.")))
            header.append(None)
            continue
        header.append(name)
    while header and header[-1] is None:
        header.pop()
    missing = [c.name for c in sheet.columns if c.required and c.name not in header]
    for name in missing:
        problems.append(Problem(sheet.name, 1, name, gettext("A required column is missing.")))
    return header


# --- Files ------------------------------------------------------------------------------


def _sheet_for(name: str, problems: list):
    key = name.strip().lower()
    if key in IGNORED_SHEETS:
        return None
    sheet = SHEET_BY_NAME.get(key)
    if sheet is None:
        problems.append(
            Problem(
                name,
                0,
                "",
                gettext("Unknown sheet; the sheets are %(sheet_by_name)s (and %(codes_sheet)s).")
                % {"sheet_by_name": ", ".join(SHEET_BY_NAME), "codes_sheet": CODES_SHEET},
            )
        )
    return sheet


def check_zip(data: bytes) -> None:
    """Refuse what is not a zip (an .xlsx is one) and a zip bomb, before any XML is read."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise FileRefused(
            gettext("This is not an Excel workbook (.xlsx): give the .xlsx file itself.")
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRefused(gettext("This workbook is damaged: it cannot be opened.")) from None
    if len(members) > 10000:
        raise FileRefused(gettext("This workbook has too many parts to be a portfolio."))
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MiB and ratio > max_ratio():
            raise FileRefused(
                gettext(
                    "This workbook's part %(filename)s unpacks %(ratio)s times its size: "
                    "refused as a possible zip bomb."
                )
                % {"filename": member.filename, "ratio": f"{ratio:,.0f}"}
            )
    if total > max_uncompressed_bytes():
        raise FileRefused(
            gettext(
                "This workbook unpacks to %(value)s MB, more than the %(value2)s MB "
                "a portfolio may: refused as a possible zip bomb."
            )
            % {"value": f"{total / MiB:,.0f}", "value2": f"{max_uncompressed_bytes() / MiB:,.0f}"}
        )


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_C, _V, _F, _IS, _T = (f"{_MAIN}{tag}" for tag in ("c", "v", "f", "is", "t"))
_DIGITS = "0123456789"


def _xml(archive, name: str):
    """A part's XML, parsed without entities, network or huge trees (lxml)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    with archive.open(name) as handle:
        return etree.parse(handle, parser).getroot()


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _sheets(archive) -> tuple[list[tuple[str, str]], bool]:
    """The (name, part) of each worksheet in the workbook's order, and the 1904 flag."""
    workbook = _xml(archive, "xl/workbook.xml")
    rels = _xml(archive, "xl/_rels/workbook.xml.rels")
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{_PKG}Relationship")}
    pr = workbook.find(f"{_MAIN}workbookPr")
    date1904 = pr is not None and pr.get("date1904") in ("1", "true")
    sheets = []
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        sheets.append((sheet.get("name"), part))
    return sheets, date1904


def _shared_strings(archive) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    root = _xml(archive, "xl/sharedStrings.xml")
    return ["".join(t.text or "" for t in si.iter(f"{_MAIN}t")) for si in root.iter(f"{_MAIN}si")]


class _Formula(str):
    """A cell that holds a formula (its text, with the leading '=')."""


def _worksheet_rows(archive, part: str, strings: list[str]):
    """Each row of a worksheet as a list of raw values (None for an empty cell):
    text, float, bool, or a _Formula. Streams the part (lxml iterparse)."""
    from lxml import etree

    with archive.open(part) as handle:
        context = etree.iterparse(
            handle,
            events=("end",),
            tag=f"{_MAIN}row",
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
        )
        expected = 1
        columns: dict[str, int] = {}
        for _, row in context:
            number = int(row.get("r") or expected)
            while expected < number:  # rows left out are empty
                yield expected, []
                expected += 1
            values: list = []
            for cell in row:
                if cell.tag != _C:
                    continue
                ref = cell.get("r")
                if ref:
                    letters = ref.rstrip(_DIGITS)
                    index = columns.get(letters)
                    if index is None:
                        index = columns[letters] = _column_index(letters)
                else:
                    index = len(values)
                while len(values) < index:
                    values.append(None)
                kind = cell.get("t")
                text = formula = None
                for child in cell:
                    tag = child.tag
                    if tag == _V:
                        text = child.text
                    elif tag == _F:
                        formula = child.text or ""
                    elif tag == _IS:
                        text = "".join(t.text or "" for t in child.iter(_T))
                if formula is not None:
                    value = _Formula("=" + formula)
                elif kind is None or kind == "n":
                    value = float(text) if text else None
                elif kind == "s":
                    value = strings[int(text)] if text else ""
                elif kind == "b":
                    value = text == "1"
                elif kind == "e":
                    value = _Formula("=" + (text or "#ERROR"))
                else:  # inlineStr, str, d
                    value = text
                values.append(value)
            row.clear()
            while row.getprevious() is not None:
                del row.getparent()[0]
            yield number, values
            expected = number + 1


def _excel_date(value: float, date1904: bool) -> datetime.date:
    epoch = datetime.date(1904, 1, 1) if date1904 else datetime.date(1899, 12, 30)
    return epoch + datetime.timedelta(days=int(value))


def read_xlsx(data: bytes) -> tuple[list[Row], list[Problem]]:
    """Read a workbook's sheets, streaming each worksheet's XML with lxml (entities,
    network and huge trees off) after ``check_zip``. openpyxl's read-only reader gave
    the same values but spent half of a 2,000-grant import building a Python object per
    cell and per shared string; this reads the values only: a cell holding a formula
    (``<f>``, or an error value) is reported, never computed; a number in a date column
    is an Excel date serial (the workbook's 1900 or 1904 system)."""
    check_zip(data)
    problems: list[Problem] = []
    rows: list[Row] = []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        sheets, date1904 = _sheets(archive)
        strings = _shared_strings(archive)
    except Exception:  # a zip that is not a workbook: many kinds of errors
        raise FileRefused(
            gettext("This workbook cannot be read: is it an .xlsx saved by Excel?")
        ) from None
    with archive:
        for title, part in sheets:
            sheet = _sheet_for(title, problems)
            if sheet is None:
                continue
            date_columns = {c.name for c in sheet.columns if c.kind == "date"}
            header = None
            try:
                for number, cells in _worksheet_rows(archive, part, strings):
                    if header is None:
                        if not cells:
                            continue
                        header = parse_header(sheet, cells, problems)
                        continue
                    for index, name in enumerate(header[: len(cells)]):
                        value = cells[index]
                        if name in date_columns and isinstance(value, float):
                            cells[index] = _excel_date(value, date1904)
                    row = parse_row(sheet, number, header, cells, problems)
                    if row is not None:
                        rows.append(row)
            except KeyError:
                problems.append(
                    Problem(sheet.name, 0, "", gettext("This sheet's part is missing."))
                )
            except Exception as exc:  # malformed XML
                problems.append(
                    Problem(
                        sheet.name,
                        0,
                        "",
                        gettext("This sheet cannot be read (%(exc)s).") % {"exc": exc},
                    )
                )
    return rows, problems


def read_csv_folder(folder: Path) -> tuple[list[Row], list[Problem]]:
    problems: list[Problem] = []
    rows: list[Row] = []
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv")
    total = sum(p.stat().st_size for p in files)
    if total > max_bytes():
        raise FileRefused(_too_large(total))
    if not files:
        raise FileRefused(gettext("This folder holds no CSV files (partners.csv, grants.csv...)."))
    for path in files:
        sheet = _sheet_for(path.stem, problems)
        if sheet is None:
            continue
        with open(path, newline="", encoding="utf-8-sig") as handle:
            try:
                lines = list(csv.reader(handle))
            except (UnicodeDecodeError, csv.Error) as exc:
                problems.append(
                    Problem(
                        sheet.name, 0, "", gettext("Not a UTF-8 CSV file (%(exc)s).") % {"exc": exc}
                    )
                )
                continue
        if not lines:
            continue
        header = parse_header(sheet, lines[0], problems)
        for number, cells in enumerate(lines[1:], start=2):
            row = parse_row(
                sheet, number, header, [c if c != "" else None for c in cells], problems
            )
            if row is not None:
                rows.append(row)
    return rows, problems


def _too_large(size: int) -> str:
    return gettext(
        "This file is %(value)s MB; a portfolio file may be at most "
        "%(value2)s MB (PORTFOLIO_IMPORT_MAX_BYTES)."
    ) % {"value": f"{size / MiB:,.1f}", "value2": f"{max_bytes() / MiB:,.0f}"}


def read_source(source) -> tuple[list[Row], list[Problem]]:
    """Rows and cell problems of ``source``: a path (an .xlsx file or a folder of CSV
    files) or an uploaded file (Django's UploadedFile). Raises FileRefused."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            return read_csv_folder(path)
        size = path.stat().st_size
        if size > max_bytes():
            raise FileRefused(_too_large(size))
        return read_xlsx(path.read_bytes())
    size = getattr(source, "size", None)
    if size is not None and size > max_bytes():
        raise FileRefused(_too_large(size))
    data = source.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise FileRefused(_too_large(len(data)))
    return read_xlsx(data)
