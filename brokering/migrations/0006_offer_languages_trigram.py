"""A trigram index for the catalogue's ``?language=`` filter (PostgreSQL only), as 0004's
for ``?search=``.

The filter keeps its meaning and its SQL (``brokering.api.views._in_json_list``: the JSON
list's text holds the code quoted, ``languages::text LIKE '%"en"%'``); this expression
index on that very text lets PostgreSQL intersect the offers in the language with those
0004's indexes find for the words, instead of rechecking every offer with the word: at
100,000 offers, the count of ``?search=water&language=en`` 18 → 9.5 ms. Nothing on
SQLite.
"""

from django.db import migrations

NAME = "brokering_offer_languages_trgm"


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NAME} ON brokering_offer "
        "USING gin ((languages::text) gin_trgm_ops)"
    )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("brokering", "0005_offer_rendered_description")]

    operations = [migrations.RunPython(add, remove)]
