"""Serving the files: streamed, and kept on disk until the data changes.

The activity file of a large portfolio is tens of megabytes, so it is never held in
memory, neither to build it nor to cache it. The first request after a change of the
data (the report cache's *data version*, seetf/common/datacache.py) streams the file
as it is written and, at the same time, writes it to ``IATI_CACHE_DIR``; once complete
it is renamed into place under a name that carries the data version, the day (actual
dates and the checks depend on it) and the publishing settings. Until the data changes,
every later request streams that file from disk. A client that goes away part-way
leaves nothing behind (the partial file is deleted); two first requests at once each
write their own partial file and the last rename wins (both are the same bytes). Files
of older versions are deleted when a new one is complete. Inside a transaction, or with
``DATA_CACHE=0``, nothing is cached.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings

from seetf.common.datacache import caching_possible, data_version

from .activities import activity_chunks
from .checks import today
from .organisation import organisation_chunks

FILES: dict[str, Callable[..., Iterator[bytes]]] = {
    "activities": activity_chunks,
    "organisation": organisation_chunks,
}
READ_SIZE = 256 * 1024


def _settings_tag() -> str:
    names = [
        "IATI_REPORTING_ORG_REF",
        "IATI_FUND_ACTIVITY_CODE",
        "IATI_REPORTING_ORG_TYPE",
        "IATI_REPORTING_ORG_NAME",
        "IATI_DEFAULT_LANGUAGE",
        "IATI_DEFAULT_CURRENCY",
        "IATI_FISCAL_YEAR_FIRST_MONTH",
        "IATI_SCHEMA_DIR",
        "SITE_URL",
    ]
    text = repr([getattr(settings, name) for name in names])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_name(kind: str, version: int) -> str:
    return f"{kind}-v{version}-{today():%Y%m%d}-{_settings_tag()}.xml"


def _read(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_SIZE):
            yield chunk


def file_chunks(kind: str) -> Iterator[bytes]:
    """The file's bytes, from the cache on disk when it is current, else written now
    (and kept for the next request)."""
    build = FILES[kind]
    if not caching_possible():
        yield from build()
        return
    version = data_version()  # read before the data, as the report cache does
    folder = Path(settings.IATI_CACHE_DIR)
    path = folder / cache_name(kind, version)
    if path.is_file():
        yield from _read(path)
        return
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.part"
    complete = False
    try:
        with open(partial, "wb") as handle:
            for chunk in build():
                handle.write(chunk)
                yield chunk
        os.replace(partial, path)
        complete = True
    finally:
        if not complete:
            partial.unlink(missing_ok=True)
    for old in folder.glob(f"{kind}-v*.xml"):
        if old != path:
            old.unlink(missing_ok=True)


def write_files(folder: Path) -> dict[Path, int]:
    """Both files into ``folder`` (``iati_export``): each written to a partial file first,
    then renamed, so an upload never picks up half a file."""
    written = {}
    for kind in FILES:
        path = folder / f"{kind}.xml"
        partial = folder / f".{kind}.xml.part"
        size = 0
        with open(partial, "wb") as handle:
            for chunk in FILES[kind]():
                handle.write(chunk)
                size += len(chunk)
        os.replace(partial, path)
        written[path] = size
    return written
