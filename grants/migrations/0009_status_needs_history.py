"""A grant's status changes only together with a history row (issue 14, point 7).

PostgreSQL only: a constraint trigger, deferred to the end of the transaction, refuses
an UPDATE that changes ``grants_grant.status`` unless the same transaction inserted a
history row of that grant from the old status to the new one (``grant_transition``
saves the grant, then writes the row). A row is the transaction's own when the
transaction that wrote it (its ``xmin``, a subtransaction's for a savepoint) is still
in progress: another transaction's uncommitted rows are not visible, so a visible row
in progress is ours. ``SET CONSTRAINTS ALL IMMEDIATE`` only makes the check earlier.
"""

from django.db import migrations

PG_CREATE = r"""
CREATE OR REPLACE FUNCTION grants_written_by_this_transaction(row_xmin xid) RETURNS boolean AS $$
DECLARE
    top bigint := pg_current_xact_id()::text::bigint;
    gap bigint := row_xmin::text::bigint - (top & 4294967295);
BEGIN
    -- xmin is the low 32 bits of a full transaction id: take the full id nearest this
    -- transaction's (PostgreSQL keeps every live id within 2^31 of the current one).
    IF gap > 2147483648 THEN
        gap := gap - 4294967296;
    ELSIF gap < -2147483648 THEN
        gap := gap + 4294967296;
    END IF;
    IF top + gap < 3 THEN
        RETURN false;
    END IF;
    RETURN COALESCE(pg_xact_status((top + gap)::text::xid8) = 'in progress', false);
EXCEPTION WHEN others THEN
    RETURN false;  -- an id too old or frozen: not this transaction's
END;
$$ LANGUAGE plpgsql VOLATILE;

CREATE OR REPLACE FUNCTION grants_status_needs_history() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM grants_granthistory h
        WHERE h.grant_id = NEW.id AND h.from_status = OLD.status
          AND h.to_status = NEW.status AND grants_written_by_this_transaction(h.xmin)
    ) THEN
        RAISE EXCEPTION 'grants_grant %: status % -> % with no history row (take the workflow''s action)',
            NEW.id, OLD.status, NEW.status USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER grants_grant_status_needs_history
    AFTER UPDATE OF status ON grants_grant
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION grants_status_needs_history();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS grants_grant_status_needs_history ON grants_grant;
DROP FUNCTION IF EXISTS grants_status_needs_history();
DROP FUNCTION IF EXISTS grants_written_by_this_transaction(xid);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("grants", "0008_grant_window")]

    operations = [migrations.RunPython(create, drop)]
