"""The portfolio indicators kept with the exchange flows' facts (analytics 0002): each
grant's own row (its exchanges held, amount, study tour, concrete result) and its
countries by role, and their sums per status. The triggers of 0002 now also note a grant
inserted or whose approved amount changes, an exchange whose instrument changes, and the
grant of every concrete result written. Every grant is noted here, so the first report
computes all the facts."""

import importlib

from django.db import migrations, models

FLOWS = importlib.import_module("analytics.migrations.0002_flow_facts")

INDICATOR_EXCHANGE_COLUMNS = (*FLOWS.EXCHANGE_COLUMNS, "instrument")
OF_REPORT = (
    'SELECT r."grant_id" FROM {rows} c JOIN "results_completionreport" r '
    'ON r."id" = c."report_id"'
)

# (name, table, event, transition tables, the grants noted): 0002's updates of an
# exchange and a grant replaced (more columns), and new ones.
REPLACED = [
    (
        "exchange_update",
        "grants_exchange",
        "UPDATE",
        FLOWS.BOTH,
        f"SELECT new_grant AS grant_id FROM ({FLOWS._changed('id', INDICATOR_EXCHANGE_COLUMNS)}) c "
        f"UNION SELECT old_grant FROM ({FLOWS._changed('id', INDICATOR_EXCHANGE_COLUMNS)}) c",
    ),
    (
        "grant_update",
        "grants_grant",
        "UPDATE",
        FLOWS.BOTH,
        'SELECT n."id" AS grant_id FROM new_rows n JOIN old_rows o ON o."id" = n."id" '
        'WHERE ROW(n."status", n."approved_usd") IS DISTINCT FROM ROW(o."status", o."approved_usd")',
    ),
]
ADDED = [
    ("grant_insert", "grants_grant", "INSERT", FLOWS.NEW, 'SELECT "id" AS grant_id FROM new_rows'),
    (
        "concrete_insert",
        "results_concreteresult",
        "INSERT",
        FLOWS.NEW,
        OF_REPORT.format(rows="new_rows"),
    ),
    (
        "concrete_delete",
        "results_concreteresult",
        "DELETE",
        FLOWS.OLD,
        OF_REPORT.format(rows="old_rows"),
    ),
    (
        "concrete_update",
        "results_concreteresult",
        "UPDATE",
        FLOWS.BOTH,
        f"{OF_REPORT.format(rows='new_rows')} UNION {OF_REPORT.format(rows='old_rows')}",
    ),
]


def _drop(name, table):
    return [
        f"DROP TRIGGER IF EXISTS analytics_flow_{name} ON {table}",
        f"DROP FUNCTION IF EXISTS analytics_flow_{name}()",
    ]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    statements = []
    for name, table, *_ in REPLACED:
        statements += _drop(name, table)
    for trigger in (*REPLACED, *ADDED):
        statements += FLOWS._trigger(*trigger)
    statements.append(f'INSERT INTO {FLOWS.DIRTY} ("grant_id") SELECT "id" FROM "grants_grant"')
    for sql in statements:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    statements = []
    for name, table, *_ in (*REPLACED, *ADDED):
        statements += _drop(name, table)
    for trigger in FLOWS.TRIGGERS:
        if trigger[0] in {name for name, *_ in REPLACED}:
            statements += FLOWS._trigger(*trigger)
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('results', '0007_lessons_and_feedback'),
        ('analytics', '0002_flow_facts'),
    ]

    operations = [
        migrations.AddField(
            model_name='flowtotals',
            name='amount',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='flowtotals',
            name='amounted',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='flowtotals',
            name='concrete',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='flowtotals',
            name='study_tours',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='grantflowfacts',
            name='amount',
            field=models.DecimalField(decimal_places=2, max_digits=16, null=True),
        ),
        migrations.AddField(
            model_name='grantflowfacts',
            name='concrete',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='grantflowfacts',
            name='study_tour',
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name='flowtotals',
            name='kind',
            field=models.CharField(choices=[('c', 'by country'), ('r', 'by region'), ('t', 'total'), ('g', 'the grant'), ('R', 'a recipient country'), ('P', 'a provider country')], max_length=1),
        ),
        migrations.AlterField(
            model_name='grantflowfacts',
            name='kind',
            field=models.CharField(choices=[('c', 'by country'), ('r', 'by region'), ('t', 'total'), ('g', 'the grant'), ('R', 'a recipient country'), ('P', 'a provider country')], max_length=1),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
