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

Migrations call ``create`` and ``drop`` with the table's name; the SQL is written here
once for every append-only table.
"""

PREFIX = "append_only"


def _pg_function(table: str) -> str:
    return f"{PREFIX}_{table}"


def _statements(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        function = _pg_function(table)
        return [
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
            f"CREATE TRIGGER {PREFIX}_{table}_{op.lower()} BEFORE {op} ON {table} BEGIN "
            f"SELECT RAISE(ABORT, '{table} is append-only: {op} refused "
            "(record a reversing entry)'); END"
            for op in ("UPDATE", "DELETE")
        ]
    return []


def create(schema_editor, table: str) -> None:
    for statement in _statements(schema_editor.connection.vendor, table):
        # params=None: sent as written (with params=() Django reads RAISE's `%` as one).
        schema_editor.execute(statement, params=None)


def drop(schema_editor, table: str) -> None:
    vendor = schema_editor.connection.vendor
    for op in ("update", "delete"):
        on = f" ON {table}" if vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {PREFIX}_{table}_{op}{on}", params=None)
    if vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {_pg_function(table)}()", params=None)


def operations(table: str):
    """The migration operation that makes ``table`` append-only (and undoes it)."""
    from django.db import migrations

    return migrations.RunPython(
        lambda apps, schema_editor: create(schema_editor, table),
        lambda apps, schema_editor: drop(schema_editor, table),
    )
