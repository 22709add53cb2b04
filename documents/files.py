"""What an uploaded file is, told from its bytes, and whether the fund accepts it.

The allow-list (README "Documents"): PDF; Office documents, both OOXML (docx, xlsx, pptx)
and the 97-2003 formats (doc, xls, ppt); PNG, JPEG, GIF and WebP images; plain text and
CSV. The kind is read from the content (``filetype``'s signatures, a zip's own parts,
UTF-8 text), never from the name or the browser's Content-Type: an executable renamed
``agenda.pdf`` is still an executable, and is refused.

An OOXML file is a zip: it is opened and checked before it is accepted, so that no zip
bomb reaches a reader that unpacks it. It must have ``[Content_Types].xml`` and the main
part of a document, workbook or presentation; no macros (``vbaProject.bin``); at most
``ZIP_MAX_ENTRIES`` entries, ``ZIP_MAX_UNCOMPRESSED`` bytes unpacked in all, and
``ZIP_MAX_RATIO`` times its own size. Every entry is read through (the sizes its headers
declare may lie: zipfile stops at the declared size and the CRC check then fails), so a
file that passes is one that unpacks to what it says.
"""

import codecs
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

import filetype
from django.utils.translation import gettext as _

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
TEXT = "text/plain"
CSV = "text/csv"

# What filetype may name a file, and what we then call it; anything else it names is refused.
SIGNATURES = {PDF: PDF, DOC: DOC, XLS: XLS, PPT: PPT, PNG: PNG, JPEG: JPEG, GIF: GIF, WEBP: WEBP}
# Every type a document may have (the download's schema lists them).
ACCEPTED = (PDF, DOCX, XLSX, PPTX, DOC, XLS, PPT, PNG, JPEG, GIF, WEBP, TEXT, CSV)
# The OOXML main parts, by the type they make a file.
OOXML_MAIN_PARTS = {
    "word/document.xml": DOCX,
    "xl/workbook.xml": XLSX,
    "ppt/presentation.xml": PPTX,
}

ZIP_MAGIC = b"PK\x03\x04"
DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAX_ENTRIES = 2000
ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100
# The bytes read to tell a file's kind (filetype reads no more than 8 KiB either).
HEAD = 8192
TEXT_SAMPLE = 64 * 1024


class Refused(Exception):
    """The file is not one the fund accepts; the message says why, for the uploader."""


@dataclass(frozen=True)
class Sniffed:
    content_type: str


def _ooxml(file, size: int) -> str:
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
            if len(entries) > ZIP_MAX_ENTRIES:
                raise Refused(
                    _("An Office file of more than %(zip_max_entries)s parts is refused.")
                    % {"zip_max_entries": ZIP_MAX_ENTRIES}
                )
            declared = sum(entry.file_size for entry in entries)
            if declared > ZIP_MAX_UNCOMPRESSED or declared > ZIP_MAX_RATIO * max(size, 1):
                raise Refused(_("This file unpacks to far more than its size (a zip bomb?)."))
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" not in names:
                raise Refused(_("A zip file that is not an Office document is refused."))
            kinds = [kind for part, kind in OOXML_MAIN_PARTS.items() if part in names]
            if len(kinds) != 1:
                raise Refused(_("Only Word, Excel and PowerPoint documents are accepted."))
            if any(name.lower().endswith("vbaproject.bin") for name in names):
                raise Refused(_("Office documents with macros are refused."))
            for entry in entries:
                if entry.flag_bits & 0x1:
                    raise Refused(_("An encrypted Office file is refused."))
                with archive.open(entry) as part:
                    while part.read(1024 * 1024):
                        pass
    except DAMAGED as error:
        raise Refused(_("This Office file is damaged.")) from error
    return kinds[0]


def _text(file) -> str | None:
    """``text/plain`` for UTF-8 (or UTF-16 with its mark) text without control characters
    other than tab, line breaks and form feed; None for anything else. A script (``#!``) is
    refused: it is a program, whatever its extension."""
    file.seek(0)
    sample = file.read(TEXT_SAMPLE)
    encoding = "utf-16" if sample.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    # Incremental: a sample that ends inside a character is not a decoding error.
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        text = decoder.decode(sample, final=len(sample) < TEXT_SAMPLE)
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text):
        return None
    if text.startswith("#!"):
        raise Refused(_("A script is refused."))
    return TEXT


def sniff(file, *, size: int, name: str = "") -> Sniffed:
    """The file's content type, from its bytes; Refused when it is not on the allow-list.
    ``name`` only tells CSV from plain text once the bytes are known to be text."""
    file.seek(0)
    head = file.read(HEAD)
    if not head:
        raise Refused(_("The file is empty."))
    if head.startswith(ZIP_MAGIC):
        return Sniffed(_ooxml(file, size))
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime in SIGNATURES:
            return Sniffed(SIGNATURES[kind.mime])
        raise Refused(_("Files of this type (%(mime)s) are refused.") % {"mime": kind.mime})
    if head.startswith(OLE_MAGIC):
        raise Refused(_("This Office 97-2003 file's kind could not be told: save it as docx."))
    if _text(file) is None:
        raise Refused(
            _(
                "Only PDF, Office documents, images (PNG, JPEG, GIF, WebP), text and CSV files "
                "are accepted."
            )
        )
    return Sniffed(CSV if name.lower().endswith(".csv") else TEXT)


_UNSAFE = re.compile(r'[<>:"/\\|?*]')


def safe_filename(name: str, fallback: str = "document") -> str:
    """The uploader's file name, made harmless: no folders (``../../etc/passwd`` becomes
    ``passwd``, as does a Windows path), no control or format characters, none of the
    characters a file system refuses, no leading dots (no hidden file), at most 200
    characters (the extension kept)."""
    name = unicodedata.normalize("NFC", name or "")
    name = PureWindowsPath(PurePosixPath(name.replace("\x00", "")).name).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: 200 - len(extension) - 1] + "." + extension
        else:
            name = name[:200]
    return name or fallback
