"""The application's own PostgreSQL role: it may read and write rows, never change the
schema (issue 14, point 7).

Migrations run as the database's owner (the user that owns every table); the web
processes, the Celery worker and beat connect as ``SEETF_DB_APP_ROLE`` (``seetf_app``),
a role that owns nothing, so it cannot TRUNCATE, ALTER a table, disable or drop a
trigger, or drop a constraint. It holds:

- SELECT, INSERT, UPDATE, DELETE on every table of the schema, but for the append-only
  tables (the grant history, receipts, disbursements, the audit log: every table with
  an append-only trigger), where it holds SELECT and INSERT only; never TRUNCATE,
  REFERENCES or TRIGGER;
- USAGE and SELECT on the sequences (an insert draws an id; no ``setval``);
- default privileges, so that tables a later migration creates are granted the same,
  and ``grant_app_role`` runs again after every ``migrate`` (``post_migrate``) to narrow
  new append-only tables.

The role is created NOLOGIN (only ``SET ROLE`` reaches it: the tests use that) unless
``SEETF_DB_APP_PASSWORD`` is set, in which case it may log in with that password
(docker compose and production; README "The database defends itself"). All of it is
idempotent and PostgreSQL only; on a database where the migrating user may not create
roles, the role is left for an administrator to create (a warning says so) and the
grants are applied once it exists.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)

# The tables whose rows are never changed or removed: those that carry a trigger refusing
# UPDATE (seetf.common.appendonly's ``append_only_<table>_update``; the grant history's
# own ``grants_granthistory_no_update``, grants migration 0002).
APPEND_ONLY_TABLES_SQL = """
SELECT DISTINCT c.relname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT t.tgisinternal
  AND (t.tgname LIKE 'append\\_only\\_%\\_update' OR t.tgname LIKE '%\\_no\\_update')
ORDER BY c.relname
"""


def app_role() -> str:
    return getattr(settings, "SEETF_DB_APP_ROLE", "seetf_app")


def append_only_tables(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    with connections[using].cursor() as cursor:
        cursor.execute(APPEND_ONLY_TABLES_SQL)
        return [row[0] for row in cursor.fetchall()]


def _quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)


def _ensure_role(connection, cursor, role: str) -> bool:
    """Create the role if it does not exist (NOLOGIN, or LOGIN with the configured
    password); returns whether it exists now."""
    password = getattr(settings, "SEETF_DB_APP_PASSWORD", "") or ""
    quoted = _quote(connection, role)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    exists = cursor.fetchone() is not None
    try:
        with transaction.atomic(using=connection.alias):
            if not exists:
                cursor.execute(f"CREATE ROLE {quoted} NOLOGIN NOINHERIT")
            if password:
                # Client-side parameters (psycopg): the password is quoted as a literal.
                cursor.execute(f"ALTER ROLE {quoted} LOGIN PASSWORD %s", [password])
    except Exception as exc:  # noqa: BLE001 (no CREATEROLE: an administrator makes it)
        if not exists:
            logger.warning(
                "The database role %s could not be created (%s); create it as an "
                "administrator (README: The database defends itself) and migrate again.",
                role,
                exc,
            )
            return False
        logger.warning("The password of the database role %s was not set: %s", role, exc)
    return True


def grant_app_role(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Create (if needed) and grant the application's role as this module says. Returns
    whether the grants were applied (False on SQLite, or when the role is missing, or
    when the migrating user is that role itself)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    role = app_role()
    quoted = _quote(connection, role)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] == role:
            logger.warning("Migrating as %s, the application's own role: no grants.", role)
            return False
        if not _ensure_role(connection, cursor, role):
            return False
        cursor.execute("SELECT current_schema()")
        schema = _quote(connection, cursor.fetchone()[0])
        statements = [
            f"GRANT USAGE ON SCHEMA {schema} TO {quoted}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {quoted}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {quoted}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {quoted}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}",
            # Tables and sequences created later by this user (the next migrations).
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
        ]
        for statement in statements:
            cursor.execute(statement)
        for table in append_only_tables(using):
            cursor.execute(f"REVOKE UPDATE, DELETE ON {_quote(connection, table)} FROM {quoted}")
    return True


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """After every ``migrate`` (every table exists by then): grant again, so that the
    tables of new migrations, and new append-only ones, are covered."""
    grant_app_role(using)


def migration_operation():
    """The migration that first creates and grants the role (common 0003)."""
    from django.db import migrations

    return migrations.RunPython(
        lambda apps, schema_editor: grant_app_role(schema_editor.connection.alias),
        migrations.RunPython.noop,
        elidable=False,
    )
