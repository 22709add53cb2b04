"""The grant history is append-only at the database level: UPDATE and DELETE fail.

On PostgreSQL (the production database) a trigger function raises an exception. TRUNCATE
is left to administrators (test databases are emptied with it). SQLite, the embedded
demo database, gets no trigger: Django's test flush there deletes rows one by one.
A correction is a new history row.
"""

from django.db import migrations

PG_CREATE = """
CREATE OR REPLACE FUNCTION grants_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'grants_granthistory is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER grants_granthistory_no_update BEFORE UPDATE ON grants_granthistory
    FOR EACH ROW EXECUTE FUNCTION grants_history_append_only();
CREATE TRIGGER grants_granthistory_no_delete BEFORE DELETE ON grants_granthistory
    FOR EACH ROW EXECUTE FUNCTION grants_history_append_only();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS grants_granthistory_no_update ON grants_granthistory;
DROP TRIGGER IF EXISTS grants_granthistory_no_delete ON grants_granthistory;
DROP FUNCTION IF EXISTS grants_history_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL is sent as written. With the default params=() Django
        # merges parameters client-side and reads the `%` of RAISE's format as one.
        schema_editor.execute(PG_CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("grants", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
