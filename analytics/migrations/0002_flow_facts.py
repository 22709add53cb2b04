"""The exchange flows' kept facts (``GrantFlowFacts``), their sums per grant status
(``FlowTotals``) and the grants whose facts are to be computed again
(``GrantFlowDirty``), noted by the database: on PostgreSQL, statement-level triggers
note the grant of every exchange inserted or deleted, or updated in what a flow counts
(its grant, status, participants, women), of every country an exchange or a grant
names or stops naming, of every grant whose status changes or that is deleted, and
every grant with a flow through a country whose region changes; whoever writes. Every
grant with an exchange held is noted here, so the first report computes all the facts.

On SQLite the flows are paired in Python from the records (``portfolio``): no triggers,
the tables stay empty."""

from django.db import migrations, models

DIRTY = '"analytics_grantflowdirty"'
FACTS = '"analytics_grantflowfacts"'


def _trigger(name, table, event, tables, select):
    """A statement-level trigger noting the grants ``select`` gives (column grant_id)."""
    function = f"analytics_flow_{name}"
    return [
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f'INSERT INTO {DIRTY} ("grant_id") SELECT DISTINCT "grant_id" FROM ({select}) '
        f'AS changed WHERE "grant_id" IS NOT NULL; RETURN NULL; END $$',
        f"CREATE TRIGGER {function} AFTER {event} ON {table} REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


NEW = "NEW TABLE AS new_rows"
OLD = "OLD TABLE AS old_rows"
BOTH = "NEW TABLE AS new_rows OLD TABLE AS old_rows"


def _changed(key, columns):
    """The ids of the rows updated whose ``columns`` changed, old and new."""
    new = ", ".join(f'n."{c}"' for c in columns)
    old = ", ".join(f'o."{c}"' for c in columns)
    return (
        f'SELECT n."{key}" AS id, n."grant_id" AS new_grant, o."grant_id" AS old_grant '
        f'FROM new_rows n JOIN old_rows o ON o."{key}" = n."{key}" '
        f"WHERE ROW({new}) IS DISTINCT FROM ROW({old})"
    )


EXCHANGE_COLUMNS = ("grant_id", "status", "participants", "women_participants")

# (name, table, event, transition tables, the grants noted)
TRIGGERS = [
    ("exchange_insert", "grants_exchange", "INSERT", NEW, 'SELECT "grant_id" FROM new_rows'),
    ("exchange_delete", "grants_exchange", "DELETE", OLD, 'SELECT "grant_id" FROM old_rows'),
    (
        "exchange_update",
        "grants_exchange",
        "UPDATE",
        BOTH,
        f"SELECT new_grant AS grant_id FROM ({_changed('id', EXCHANGE_COLUMNS)}) c "
        f"UNION SELECT old_grant FROM ({_changed('id', EXCHANGE_COLUMNS)}) c",
    ),
    (
        "grant_update",
        "grants_grant",
        "UPDATE",
        BOTH,
        'SELECT n."id" AS grant_id FROM new_rows n JOIN old_rows o ON o."id" = n."id" '
        'WHERE n."status" IS DISTINCT FROM o."status"',
    ),
    ("grant_delete", "grants_grant", "DELETE", OLD, 'SELECT "id" AS grant_id FROM old_rows'),
    (
        "country_update",
        "partners_country",
        "UPDATE",
        BOTH,
        f'SELECT f."grant_id" FROM {FACTS} f JOIN new_rows n ON f."provider" = n."code" '
        f'OR f."recipient" = n."code" JOIN old_rows o ON o."code" = n."code" '
        f'WHERE f."kind" = \'c\' AND n."region" IS DISTINCT FROM o."region"',
    ),
]
for side in ("provider", "recipient"):
    exchange_table = f"grants_exchange_{side}_countries"
    of_exchange = (
        'SELECT e."grant_id" FROM {rows} r JOIN "grants_exchange" e ON e."id" = r."exchange_id"'
    )
    TRIGGERS += [
        (
            f"exchange_{side}_insert",
            exchange_table,
            "INSERT",
            NEW,
            of_exchange.format(rows="new_rows"),
        ),
        (
            f"exchange_{side}_delete",
            exchange_table,
            "DELETE",
            OLD,
            of_exchange.format(rows="old_rows"),
        ),
        (
            f"exchange_{side}_update",
            exchange_table,
            "UPDATE",
            BOTH,
            f"{of_exchange.format(rows='new_rows')} UNION {of_exchange.format(rows='old_rows')}",
        ),
    ]
    grant_table = f"grants_grant_{side}_countries"
    TRIGGERS += [
        (f"grant_{side}_insert", grant_table, "INSERT", NEW, 'SELECT "grant_id" FROM new_rows'),
        (f"grant_{side}_delete", grant_table, "DELETE", OLD, 'SELECT "grant_id" FROM old_rows'),
        (
            f"grant_{side}_update",
            grant_table,
            "UPDATE",
            BOTH,
            'SELECT "grant_id" FROM new_rows UNION SELECT "grant_id" FROM old_rows',
        ),
    ]


def postgres_create():
    statements = []
    for trigger in TRIGGERS:
        statements += _trigger(*trigger)
    statements.append(
        f'INSERT INTO {DIRTY} ("grant_id") SELECT DISTINCT "grant_id" FROM "grants_exchange" '
        "WHERE \"status\" = 'held'"
    )
    return statements


def postgres_drop():
    statements = []
    for name, table, *_ in TRIGGERS:
        statements += [
            f"DROP TRIGGER IF EXISTS analytics_flow_{name} ON {table}",
            f"DROP FUNCTION IF EXISTS analytics_flow_{name}()",
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
    dependencies = [
        ("analytics", "0001_cycle_facts"),
        ("grants", "0019_grant_report_dates"),
        ("partners", "0007_alert_ledger_drift"),
    ]

    operations = [
        migrations.CreateModel(
            name="GrantFlowDirty",
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
            name="FlowTotals",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("status", models.CharField(max_length=20)),
                (
                    "kind",
                    models.CharField(
                        choices=[("c", "by country"), ("r", "by region"), ("t", "total")],
                        max_length=1,
                    ),
                ),
                ("provider", models.CharField(blank=True, max_length=3)),
                ("recipient", models.CharField(blank=True, max_length=3)),
                ("grants", models.BigIntegerField()),
                ("exchanges", models.BigIntegerField()),
                ("participants", models.BigIntegerField()),
                ("women", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("status", "kind", "provider", "recipient"), name="flow_totals_once"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("grants__gte", 0), ("exchanges__gte", 0)),
                        name="flow_totals_not_negative",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="GrantFlowFacts",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("grant_id", models.BigIntegerField(db_index=True)),
                ("status", models.CharField(max_length=20)),
                (
                    "kind",
                    models.CharField(
                        choices=[("c", "by country"), ("r", "by region"), ("t", "total")],
                        max_length=1,
                    ),
                ),
                ("provider", models.CharField(blank=True, max_length=3)),
                ("recipient", models.CharField(blank=True, max_length=3)),
                ("exchanges", models.IntegerField()),
                ("participants", models.BigIntegerField()),
                ("women", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("grant_id", "kind", "provider", "recipient"), name="flow_fact_once"
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
