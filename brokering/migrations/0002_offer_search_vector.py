"""The offers' full-text document kept by PostgreSQL (a generated column), so that
ranking the suggestions' candidates reads it instead of parsing every candidate's title
and description on each request (scoring._text_rank). Nothing on SQLite, which ranks
by word overlap."""

from django.db import migrations

COLUMN = """
ALTER TABLE brokering_offer ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE(description, '')), 'B')
) STORED
"""


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COLUMN)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE brokering_offer DROP COLUMN search_vector")


class Migration(migrations.Migration):
    dependencies = [("brokering", "0001_initial")]

    operations = [migrations.RunPython(add, remove)]
