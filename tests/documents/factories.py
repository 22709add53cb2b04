"""Files of every kind the documents tests upload, made here (no binary fixtures), and a
document made through the service."""

import io
import struct
import zipfile
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile

from documents import services

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
AGENDA_TEXT = b"Agenda\n09:00 Welcome\n10:00 Visit to the ministry\n"
CSV_TEXT = b"name,country\nAna,HND\nLuis,MEX\n"


def png() -> bytes:
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)


def ooxml(main_part="word/document.xml", *, extra=(), content_types=True) -> bytes:
    """A minimal Office Open XML package: [Content_Types].xml, the main part, and any
    ``extra`` (name, bytes) entries, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if content_types:
            archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", "<Relationships/>")
        if main_part:
            archive.writestr(main_part, "<document>An agenda</document>")
        for name, data in extra:
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """A docx whose one extra part unpacks from a few kilobytes to 50 MB of zeros."""
    return ooxml(extra=[("word/media/zeros.bin", b"\x00" * (50 * 1024 * 1024))])


def upload(name="agenda.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def make_document(grant, user, *, name="agenda.pdf", content=PDF, category="agenda", **kwargs):
    return services.document_upload(
        grant=grant,
        user=user,
        file=upload(name, content),
        category=category,
        title=kwargs.pop("title", "Study tour agenda"),
        **kwargs,
    )
