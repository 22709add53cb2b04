"""Each grant's cycle facts (``GrantCycleFacts``) and the grants whose facts are to be
computed again (``GrantCycleDirty``), noted by the database: on PostgreSQL, triggers on
the history, disbursements, exchanges and completion reports note the grant of every
row inserted, updated (its old and new grant) or deleted, and one on the grants notes a
grant whose columns the facts copy change, whoever writes. They are per
statement, with its transition tables: a bulk load notes each grant once per statement.
Every grant with a history is noted here, so the first report computes all the facts.

On SQLite the report is computed in Python from the records (``cycletimes``): no
triggers, the tables stay empty."""

from django.db import migrations, models

DIRTY = '"analytics_grantcycledirty"'
# (table, trigger name) of the records a grant's facts are made of.
SOURCES = (
    ("grants_granthistory", "history"),
    ("grants_disbursement", "disbursement"),
    ("grants_exchange", "exchange"),
    ("results_completionreport", "report"),
)
KINDS = {
    "insert": ("INSERT", "NEW TABLE AS new_rows", 'SELECT "grant_id" FROM new_rows'),
    "update": (
        "UPDATE",
        "NEW TABLE AS new_rows OLD TABLE AS old_rows",
        'SELECT "grant_id" FROM new_rows UNION SELECT "grant_id" FROM old_rows',
    ),
    "delete": ("DELETE", "OLD TABLE AS old_rows", 'SELECT "grant_id" FROM old_rows'),
}


# The grant's own columns the facts copy: a grant is noted when one of them changes.
GRANT_COLUMNS = ("region", "sector_id", "window_id", "approved_usd", "requested_usd", "planned_end")


def _grant_trigger() -> list[str]:
    columns = ", ".join(f'"{column}"' for column in GRANT_COLUMNS)
    return [
        "CREATE FUNCTION analytics_cycle_grant_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f'BEGIN INSERT INTO {DIRTY} ("grant_id") SELECT n."id" FROM new_rows n '
        f'JOIN old_rows o ON o."id" = n."id" '
        f"WHERE ROW({', '.join('n.' + c for c in columns.split(', '))}) IS DISTINCT FROM "
        f"ROW({', '.join('o.' + c for c in columns.split(', '))}); RETURN NULL; END $$",
        "CREATE TRIGGER analytics_cycle_grant_update AFTER UPDATE ON grants_grant "
        "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION analytics_cycle_grant_update()",
    ]


def postgres_create():
    statements = _grant_trigger()
    for table, name in SOURCES:
        for kind, (event, tables, grants) in KINDS.items():
            function = f"analytics_cycle_{name}_{kind}"
            statements += [
                f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f'INSERT INTO {DIRTY} ("grant_id") SELECT DISTINCT "grant_id" FROM ({grants}) '
                f'AS changed WHERE "grant_id" IS NOT NULL; RETURN NULL; END $$',
                f"CREATE TRIGGER {function} AFTER {event} ON {table} REFERENCING {tables} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
            ]
    statements.append(
        f'INSERT INTO {DIRTY} ("grant_id") SELECT DISTINCT "grant_id" FROM grants_granthistory'
    )
    return statements


def postgres_drop():
    statements = [
        "DROP TRIGGER IF EXISTS analytics_cycle_grant_update ON grants_grant",
        "DROP FUNCTION IF EXISTS analytics_cycle_grant_update()",
    ]
    for table, name in SOURCES:
        for kind in KINDS:
            function = f"analytics_cycle_{name}_{kind}"
            statements += [
                f"DROP TRIGGER IF EXISTS {function} ON {table}",
                f"DROP FUNCTION IF EXISTS {function}()",
            ]
    return statements


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in postgres_create():
            schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in postgres_drop():
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("grants", "0018_grant_first_moves"),
        ("results", "0007_lessons_and_feedback"),
    ]

    operations = [
        migrations.CreateModel(
            name="GrantCycleDirty",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("grant_id", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="GrantCycleFacts",
            fields=[
                ("grant_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("zone", models.CharField(db_index=True, max_length=64)),
                ("region", models.CharField(max_length=3)),
                ("sector_id", models.CharField(max_length=5, null=True)),
                ("window_id", models.BigIntegerField(null=True)),
                (
                    "amount",
                    models.DecimalField(decimal_places=2, max_digits=16, null=True),
                ),
                ("planned_end", models.DateField(null=True)),
                ("submitted", models.DateField()),
                ("decided", models.DateField(null=True)),
                ("approved", models.DateField(null=True)),
                ("closed", models.DateField(null=True)),
                ("returns", models.IntegerField()),
                ("waiting_on_leader", models.IntegerField(null=True)),
                ("waiting_on_fund", models.IntegerField(null=True)),
                ("first_disbursed", models.DateField(null=True)),
                ("first_exchange", models.DateField(null=True)),
                ("report_submitted", models.DateField(null=True)),
                ("report_accepted", models.DateField(null=True)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
