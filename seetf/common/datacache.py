"""Caching reports and dashboards, invalidated by the database itself.

A report over 20,000 grants costs hundreds of milliseconds to compute and encode, and it
changes only when the data under it does. ``cached(key, build)`` keeps what ``build()``
returns with the *data version* it was computed at, and gives it back while that
version stands.

The data version is kept by the database, not by Python: a trigger on every table of
the partners, grants, results and brokering apps (``TRACKED_APPS``) records each statement that
writes one of them in ``common_datachange`` (model ``DataChange``), whoever writes: the
services, the admin, a bulk update, a data migration or raw SQL. Signals or
``updated_at`` would miss the last three. The version is ``SUM(weight)`` of that table:

- On PostgreSQL each writing statement inserts a row (statement-level triggers). Inserts
  never wait on one another, so no writer queues behind a shared counter (which would
  also risk deadlocks with the fund's ledger lock), and a row counts for readers only
  once its transaction has committed: a reader never sees a version that data it cannot
  see yet has already moved past. ``compact_data_changes()`` (daily) folds the rows into
  one, adding one, so the sum never goes back.
- On SQLite, where one writer holds the whole database at a time, row-level triggers add
  one to a single row.

Why it is correct: the version is read *before* the data. Whatever commits after the
version was read can only make the data read fresher than its version, never older; and
any commit after that bumps the version the next reader sees, so it rebuilds. Inside a
transaction (``connection.in_atomic_block``) nothing is cached or served from the cache:
the transaction may see its own uncommitted writes, or roll back.

Every ``migrate`` (hence every deploy) bumps the version too, so that a shared cache
(Redis) never serves what an older version of the code built.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
from collections.abc import Callable
from typing import TypeVar

from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from rest_framework.response import Response

log = logging.getLogger(__name__)

T = TypeVar("T")

TRACKED_APPS = ("partners", "grants", "results", "brokering")
TABLE = "common_datachange"
TRIGGER = "common_data_changed"
KEY_PREFIX = "seetf:data:"


def tracked_tables() -> list[str]:
    """The tables whose writes change the data version: every table of the tracked apps,
    the many-to-many tables Django creates for them included."""
    tables = []
    for label in TRACKED_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                tables.append(model._meta.db_table)
    return sorted(set(tables))


# --- The triggers ----------------------------------------------------------------------------

# What moves the version on by one: a new row on PostgreSQL, the one row on SQLite.
_BUMP = {
    "postgresql": f"INSERT INTO {TABLE} (weight) VALUES (1)",
    "sqlite": (
        f"INSERT INTO {TABLE} (id, weight) VALUES (1, 1) "
        f"ON CONFLICT (id) DO UPDATE SET weight = weight + 1"
    ),
}

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_BUMP["postgresql"]};
    RETURN NULL;
END
$$;
"""


def _pg_trigger(table: str, quote) -> str:
    return (
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {quote(table)} FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()"
    )


def _sqlite_triggers(table: str, quote) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {quote(f'{TRIGGER}_{event.lower()}_{table}')} "
        f"AFTER {event} ON {quote(table)} BEGIN {_BUMP['sqlite']}; END"
        for event in ("INSERT", "UPDATE", "DELETE")
    ]


def tables_with_triggers(using: str = DEFAULT_DB_ALIAS) -> set[str]:
    """The tables that have the version trigger now (for tests and the installer)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = %s AND NOT t.tgisinternal",
                [TRIGGER],
            )
            return {row[0] for row in cursor.fetchall()}
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s "
                "GROUP BY tbl_name HAVING count(*) = 3",
                [f"{TRIGGER}%"],
            )
            return {row[0] for row in cursor.fetchall()}
    return set()


def install_triggers(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Give every tracked table that lacks it the version trigger (idempotent, one query
    when nothing is missing). Returns the tables it was added to."""
    connection = connections[using]
    if connection.vendor not in _BUMP:
        return []
    existing_tables = set(connection.introspection.table_names())
    if TABLE not in existing_tables:
        return []
    have = tables_with_triggers(using)
    missing = [t for t in tracked_tables() if t in existing_tables and t not in have]
    if not missing:
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
            for table in missing:
                cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {quote(table)}")
                cursor.execute(_pg_trigger(table, quote))
        else:
            for table in missing:
                for statement in _sqlite_triggers(table, quote):
                    cursor.execute(statement)
    return missing


def bump(using: str = DEFAULT_DB_ALIAS) -> None:
    """Move the version on by hand (after a migration: the code may have changed)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(_BUMP[connection.vendor])


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """After ``migrate`` (and a test database's flush): the triggers, and a new version."""
    connection = connections[using]
    if connection.vendor in _BUMP and TABLE in connection.introspection.table_names():
        install_triggers(using)
        bump(using)


# --- The version -----------------------------------------------------------------------------


def data_version(using: str = DEFAULT_DB_ALIAS) -> int:
    """The committed data's version: one small query."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(weight), 0) FROM {TABLE}")
        return int(cursor.fetchone()[0])


def compact_data_changes(using: str = DEFAULT_DB_ALIAS) -> int:
    """Fold the change rows into one whose weight is their sum plus one (the version
    moves on rather than back, so no cache entry can be mistaken for current). Rows of
    transactions still open are not visible here and stay. Returns the rows removed."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {TABLE} RETURNING weight) "
            f"INSERT INTO {TABLE} (weight) SELECT COALESCE(SUM(weight), 0) + 1 FROM gone "
            f"RETURNING (SELECT count(*) FROM gone)"
        )
        return int(cursor.fetchone()[0])


# --- The cache -------------------------------------------------------------------------------


def _key(parts: tuple) -> str:
    # The language and time zone too: labels and rendered timestamps depend on them.
    text = repr((translation.get_language(), timezone.get_current_timezone_name(), *parts))
    return KEY_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def caching_possible(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Outside a transaction, and unless switched off (``DATA_CACHE=0``)."""
    return settings.DATA_CACHE and not connections[using].in_atomic_block


def cached(key_parts: tuple, build: Callable[[], T]) -> T:
    """``build()``, or what it gave before at the current data version. ``key_parts`` must
    name everything else the result depends on (who asks, which filters, which format).
    One entry per key: a newer version replaces the older one. A cache that fails (Redis
    down) only means building every time."""
    if not caching_possible():
        return build()
    version = data_version()
    cache = caches[settings.DATA_CACHE_ALIAS]
    key = _key(key_parts)
    try:
        entry = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache outage must not fail the request
        log.warning("data cache: get failed", exc_info=True)
        entry = None
    if entry is not None and entry[0] == version:
        return entry[1]
    value = build()
    try:
        cache.set(key, (version, value), settings.DATA_CACHE_TIMEOUT)
    except Exception:  # noqa: BLE001
        log.warning("data cache: set failed", exc_info=True)
    return value


# A cached report this long or longer is kept gzipped too, and served so to a client
# that accepts it (every browser does): a report of 200,000 grants is tens of megabytes
# of JSON, which a client reads in a tenth of its time compressed. Level 1: a tenth
# of the JSON's length, at about 350 MB/s, once per data version.
GZIP_MIN_BYTES = 16 * 1024
GZIP_LEVEL = 1
_GZIPPED_FORMATS = ("json", "csv")  # text: an xlsx is a zip already
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def cached_response(view, request, key_parts: tuple, build: Callable[[], object]) -> HttpResponse:
    """A DRF view's 200 response, cached *rendered* (the JSON or CSV bytes): encoding a
    report of thousands of rows costs more than computing it. ``build()`` gives the data;
    errors it raises (a bad filter: 400) are raised, never cached. A long one is kept
    gzipped as well (``GZIP_MIN_BYTES``), when it is cached, and a client sending
    ``Accept-Encoding: gzip`` gets those bytes (``Content-Encoding: gzip``); both answers
    say ``Vary: Accept-Encoding``."""
    renderer = request.accepted_renderer
    compressible = renderer.format in _GZIPPED_FORMATS

    def render() -> dict:
        response = view.finalize_response(request, Response(build()))
        response.render()
        entry = {"content": response.content, "headers": dict(response.items())}
        if compressible and len(response.content) >= GZIP_MIN_BYTES and caching_possible():
            entry["gzip"] = gzip.compress(response.content, compresslevel=GZIP_LEVEL, mtime=0)
        return entry

    entry = cached(("response", renderer.format, request.accepted_media_type, *key_parts), render)
    gzipped = entry.get("gzip")
    if gzipped is not None and _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
        response = HttpResponse(gzipped)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(entry["content"])
    for header, value in entry["headers"].items():
        response[header] = value
    response["Content-Length"] = str(len(response.content))
    if compressible:
        patch_vary_headers(response, ("Accept-Encoding",))
    return response


def query_key(request, ignore: tuple[str, ...] = ("format",)) -> tuple:
    """The request's query parameters in a canonical order, for a cache key."""
    return tuple(
        sorted((name, tuple(values)) for name, values in request.GET.lists() if name not in ignore)
    )
