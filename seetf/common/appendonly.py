"""Append-only tables: the database itself refuses UPDATE and DELETE on them.

Money records (receipts, disbursements) are corrected by reversing entries, never
edited or removed; these triggers make that the database's rule, whoever writes: the
services, the admin, a bulk update, raw SQL. Inserts go through.

- PostgreSQL: a row trigger function raises ``restrict_violation`` before UPDATE or
  DELETE (as for the grant history, grants migration 0002). TRUNCATE is left to
  administrators: test databases are emptied with it.
- SQLite: ``BEFORE UPDATE`` and ``BEFORE DELETE`` triggers ``RAISE(ABORT)``. Django's
  flush empties SQLite tables with DELETE, so the test suite drops the triggers named
  ``append_only_*`` for its flush and puts them back in the same transaction
  (tests/conftest.py); a ``manage.py flush`` of a real database is refused.

A reversing entry (a row whose ``reverses_id`` names another) is checked on INSERT as
well: it must name an original entry (not itself a reversal) of the same parent, with
exactly the negative amounts. The sign constraint and the unique ``reverses_id`` are the
models' (``partners.models.ReversibleEntry``).

Migrations use ``operations(table, parent=..., amounts=...)``; the SQL is written here
once for every append-only table.
"""

PREFIX = "append_only"


def _pg_function(table: str) -> str:
    return f"{PREFIX}_{table}"


def _mirrors_an_original(table: str, parent: str, amounts: tuple[str, ...]) -> str:
    """SQL true when the NEW row reverses an original entry of its parent exactly."""
    same = " AND ".join(f"o.{amount} = -NEW.{amount}" for amount in amounts)
    return (
        f"EXISTS (SELECT 1 FROM {table} o WHERE o.id = NEW.reverses_id "
        f"AND o.reverses_id IS NULL AND o.{parent} = NEW.{parent} AND {same})"
    )


MIRROR_MESSAGE = "a reversing entry must reverse an original entry of its parent exactly"


def _statements(vendor: str, table: str, parent: str | None, amounts: tuple[str, ...]) -> list[str]:
    statements = _all_statements(vendor, table, parent or "", amounts)
    if parent is None:  # a log with no reversing entries: only UPDATE and DELETE refused
        return [s for s in statements if "_mirror" not in s]
    return statements


def _all_statements(vendor: str, table: str, parent: str, amounts: tuple[str, ...]) -> list[str]:
    mirrors = _mirrors_an_original(table, parent, amounts) if parent else "TRUE"
    if vendor == "postgresql":
        function = _pg_function(table)
        return [
            f"""CREATE OR REPLACE FUNCTION {function}_mirror() RETURNS trigger AS $$
BEGIN
    IF NEW.reverses_id IS NOT NULL AND NOT {mirrors} THEN
        RAISE EXCEPTION '%: {MIRROR_MESSAGE}', TG_TABLE_NAME
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
            f"CREATE TRIGGER {PREFIX}_{table}_mirror BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}_mirror()",
            f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (record a reversing entry)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql""",
            *(
                f"CREATE TRIGGER {PREFIX}_{table}_{op.lower()} BEFORE {op} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
                for op in ("UPDATE", "DELETE")
            ),
        ]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER {PREFIX}_{table}_mirror BEFORE INSERT ON {table} "
            f"WHEN NEW.reverses_id IS NOT NULL AND NOT {mirrors} BEGIN "
            f"SELECT RAISE(ABORT, '{table}: {MIRROR_MESSAGE}'); END",
            *(
                f"CREATE TRIGGER {PREFIX}_{table}_{op.lower()} BEFORE {op} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, '{table} is append-only: {op} refused "
                "(record a reversing entry)'); END"
                for op in ("UPDATE", "DELETE")
            ),
        ]
    return []


def create(schema_editor, table: str, parent: str | None, amounts: tuple[str, ...]) -> None:
    for statement in _statements(schema_editor.connection.vendor, table, parent, amounts):
        # params=None: sent as written (with params=() Django reads RAISE's `%` as one).
        schema_editor.execute(statement, params=None)


def drop(schema_editor, table: str) -> None:
    vendor = schema_editor.connection.vendor
    for op in ("update", "delete", "mirror"):
        on = f" ON {table}" if vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {PREFIX}_{table}_{op}{on}", params=None)
    if vendor == "postgresql":
        for suffix in ("", "_mirror"):
            function = f"{_pg_function(table)}{suffix}"
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()", params=None)


def operations(table: str, *, parent: str | None = None, amounts: tuple[str, ...] = ()):
    """The migration operation that makes ``table`` append-only and checks its reversing
    entries against their originals (and undoes it). ``parent`` is the column of the
    row an entry belongs to (``contribution_id``), ``amounts`` its money columns. With no
    ``parent`` (a log such as the audit log) only UPDATE and DELETE are refused."""
    from django.db import migrations

    return migrations.RunPython(
        lambda apps, schema_editor: create(schema_editor, table, parent, amounts),
        lambda apps, schema_editor: drop(schema_editor, table),
    )
