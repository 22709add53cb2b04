"""What a file is, from its bytes (documents.files): the allow-list, the renamed
executable, the zip bomb and the sanitised names."""

import io
import zipfile

import pytest

from documents import files
from tests.documents import factories as f


def sniff(content: bytes, name: str = "x") -> str:
    return files.sniff(io.BytesIO(content), size=len(content), name=name).content_type


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (f.PDF, "concept-note.pdf", files.PDF),
        (f.png(), "photo.png", files.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64, "photo.jpg", files.JPEG),
        (b"GIF89a\x01\x00\x01\x00" + b"\x00" * 32, "a.gif", files.GIF),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32, "a.webp", files.WEBP),
        (f.ooxml("word/document.xml"), "agenda.docx", files.DOCX),
        (f.ooxml("xl/workbook.xml"), "budget.xlsx", files.XLSX),
        (f.ooxml("ppt/presentation.xml"), "slides.pptx", files.PPTX),
        (f.AGENDA_TEXT, "agenda.txt", files.TEXT),
        ("Ação, participação\n".encode(), "notes", files.TEXT),
        (f.CSV_TEXT, "participants.csv", files.CSV),
    ],
)
def test_accepted_kinds_are_told_from_the_content(content, name, expected):
    assert sniff(content, name) == expected


def test_the_name_does_not_decide_the_kind():
    # A PDF called .docx is a PDF; a docx called .pdf is a docx.
    assert sniff(f.PDF, "agenda.docx") == files.PDF
    assert sniff(f.ooxml(), "agenda.pdf") == files.DOCX


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f.EXE, "x-msdownload"),
        (f.ELF, "x-executable"),
        (b"#!/bin/sh\nrm -rf /\n", "script"),
        (b"\x00\x01\x02\x03binary" * 20, "Only PDF"),
        (b"Rar!\x1a\x07\x00" + b"\x00" * 64, "x-rar"),
    ],
    ids=["windows-exe", "elf", "shell-script", "binary", "rar"],
)
def test_a_renamed_executable_or_other_kind_is_refused(content, message):
    with pytest.raises(files.Refused, match=message):
        sniff(content, "agenda.pdf")


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = f.zip_bomb()
    assert len(bomb) < 200 * 1024  # tiny on the wire
    with pytest.raises(files.Refused, match="zip bomb"):
        sniff(bomb, "agenda.docx")


def test_too_many_entries_are_refused(monkeypatch):
    monkeypatch.setattr(files, "ZIP_MAX_ENTRIES", 10)
    many = f.ooxml(extra=[(f"word/p{i}.xml", "<p/>") for i in range(10)])
    with pytest.raises(files.Refused, match="more than 10 parts"):
        sniff(many, "agenda.docx")


def test_a_total_beyond_the_unpacked_limit_is_refused(monkeypatch):
    monkeypatch.setattr(files, "ZIP_MAX_UNCOMPRESSED", 1000)
    big = f.ooxml(extra=[("word/media/a.bin", bytes(range(256)) * 8)])
    with pytest.raises(files.Refused, match="zip bomb"):
        sniff(big, "agenda.docx")


def test_a_zip_that_lies_about_its_sizes_is_refused():
    """Its central directory says the part unpacks to 10 bytes (under every limit):
    zipfile stops there, and the part's CRC then fails."""
    name = b"word/media/a.bin"
    data = bytearray(f.ooxml(extra=[(name.decode(), b"abc" * 100_000)]))
    record = bytes(data).index(b"PK\x01\x02")  # the central directory
    while bytes(data[record + 46 : record + 46 + len(name)]) != name:
        record = bytes(data).index(b"PK\x01\x02", record + 4)
    data[record + 24 : record + 28] = (10).to_bytes(4, "little")  # uncompressed size
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        assert archive.getinfo(name.decode()).file_size == 10
    with pytest.raises(files.Refused, match="damaged"):
        sniff(bytes(data), "agenda.docx")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f.ooxml(content_types=False), "not an Office document"),
        (f.ooxml(main_part=None), "Only Word, Excel and PowerPoint"),
        (f.ooxml(extra=[("word/vbaProject.bin", b"macro")]), "macros"),
        (b"PK\x03\x04" + b"\x00" * 100, "damaged"),
    ],
    ids=["plain-zip", "no-main-part", "macros", "damaged"],
)
def test_zips_that_are_not_real_office_documents_are_refused(content, message):
    with pytest.raises(files.Refused, match=message):
        sniff(content, "agenda.docx")


def test_an_empty_file_is_refused():
    with pytest.raises(files.Refused, match="empty"):
        sniff(b"")


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system.ini", "system.ini"),
        ("/abs/path/agenda.pdf", "agenda.pdf"),
        ("agenda\x00.pdf", "agenda.pdf"),
        ("ag\x1benda\u202e.pdf", "agenda.pdf"),
        (".htaccess", "htaccess"),
        ('a<b>:"c|?*.pdf', "a_b___c___.pdf"),
        ("Relatório de viagem.pdf", "Relatório de viagem.pdf"),
        ("..", "document"),
        ("", "document"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_names_are_sanitised(given, safe):
    assert files.safe_filename(given) == safe
