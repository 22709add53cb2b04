"""The grants counted by status (``GrantStatusCount``), kept by the database: triggers
on ``grants_grant`` add each inserted grant to its status, move a grant whose status
changes, take away a deleted one, whoever writes (the services, the importer, bulk
loads, the admin, SQL). The existing grants are counted once here.

On PostgreSQL the triggers are per statement, with its transition tables: a bulk load
of 200,000 grants costs one aggregate per statement, and a statement's changes lock the
counts' rows in the order of their status (``ORDER BY``), so two transactions that move
grants opposite ways between two statuses wait for each other instead of deadlocking.
On SQLite (one writer at a time) they are per row."""

from django.db import migrations, models

COUNTS = '"grants_grantstatuscount"'

# The change of a statement: its rows' statuses, +1 for each new row and -1 for each old
# one, summed by status (nothing for an update that moves none). The counts' rows it
# changes are locked first, in the order of their status; then the statuses that gain
# are added (a status's first grant makes its row), and those that lose taken away
# (their row exists: the grants they lose were counted in). Not one upsert for both: a
# row proposed with a negative count fails the check before its conflict is seen.
DELTA = 'SELECT "status", sum("n") AS "n" FROM ({changes}) AS changes GROUP BY "status"'
POSTGRES_APPLY = """
PERFORM 1 FROM {counts}
WHERE "status" IN (SELECT "status" FROM ({delta} HAVING sum("n") <> 0) AS d)
ORDER BY "status" FOR UPDATE;
INSERT INTO {counts} ("status", "count")
{delta} HAVING sum("n") > 0 ORDER BY "status"
ON CONFLICT ("status") DO UPDATE SET "count" = {counts}."count" + EXCLUDED."count";
UPDATE {counts} SET "count" = {counts}."count" + d."n"
FROM ({delta} HAVING sum("n") < 0) AS d WHERE {counts}."status" = d."status";
"""
NEW = 'SELECT "status", 1 AS "n" FROM "grant_new_rows"'
OLD = 'SELECT "status", -1 AS "n" FROM "grant_old_rows"'
POSTGRES_KINDS = {
    "insert": ("INSERT", "NEW TABLE AS grant_new_rows", NEW),
    "update": (
        "UPDATE",
        "NEW TABLE AS grant_new_rows OLD TABLE AS grant_old_rows",
        f"{NEW} UNION ALL {OLD}",
    ),
    "delete": ("DELETE", "OLD TABLE AS grant_old_rows", OLD),
}


def postgres_create():
    statements = []
    for kind, (event, tables, changes) in POSTGRES_KINDS.items():
        apply = POSTGRES_APPLY.format(counts=COUNTS, delta=DELTA.format(changes=changes))
        statements += [
            f"CREATE FUNCTION grants_count_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {apply} RETURN NULL; END $$",
            f"CREATE TRIGGER grants_count_{kind} AFTER {event} ON grants_grant "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION grants_count_{kind}()",
        ]
    return statements


def postgres_drop():
    statements = []
    for kind in POSTGRES_KINDS:
        statements += [
            f"DROP TRIGGER IF EXISTS grants_count_{kind} ON grants_grant",
            f"DROP FUNCTION IF EXISTS grants_count_{kind}()",
        ]
    return statements


SQLITE_ADD = (
    f'INSERT INTO {COUNTS} ("status", "count") VALUES (NEW."status", 1) '
    f'ON CONFLICT ("status") DO UPDATE SET "count" = "count" + 1;'
)
SQLITE_TAKE = f'UPDATE {COUNTS} SET "count" = "count" - 1 WHERE "status" = OLD."status";'
SQLITE_CREATE = [
    f"CREATE TRIGGER grants_count_insert AFTER INSERT ON grants_grant BEGIN {SQLITE_ADD} END",
    "CREATE TRIGGER grants_count_update AFTER UPDATE OF status ON grants_grant "
    f'WHEN OLD."status" <> NEW."status" BEGIN {SQLITE_TAKE} {SQLITE_ADD} END',
    f"CREATE TRIGGER grants_count_delete AFTER DELETE ON grants_grant BEGIN {SQLITE_TAKE} END",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS grants_count_{kind}" for kind in ("insert", "update", "delete")
]

BACKFILL = (
    f'INSERT INTO {COUNTS} ("status", "count") '
    'SELECT "status", count(*) FROM "grants_grant" GROUP BY "status"'
)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = postgres_create() if vendor == "postgresql" else SQLITE_CREATE
    for sql in statements + [BACKFILL]:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in postgres_drop() if vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("grants", "0016_requested_status_idx"),
    ]

    operations = [
        migrations.CreateModel(
            name="GrantStatusCount",
            fields=[
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("submitted", "Submitted"),
                            ("under_review", "Under review"),
                            ("returned", "Returned for revision"),
                            ("rejected", "Rejected"),
                            ("approved", "Approved"),
                            ("completed", "Completed"),
                            ("closed", "Closed"),
                            ("cancelled", "Cancelled"),
                        ],
                        max_length=16,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("count", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("count__gte", 0)),
                        name="grant_status_count_not_negative",
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
