"""Partial indexes on PostgreSQL for the fund manager's home page, whose list of the
grants overdue against the service standards (``analytics.cycletimes``,
``overdue_against_standards(limit=)``) looks for the approved grants with no
disbursement yet, or no exchange held yet: each approved grant is checked against these
narrow indexes, not against every disbursement and exchange of the fund. Created like
0006 and not declared on the model: SQLite's small databases do not need them."""

from django.db import migrations

CREATE = [
    'CREATE INDEX IF NOT EXISTS "disbursement_first_idx" ON "grants_disbursement" '
    '("grant_id") WHERE "reverses_id" IS NULL',
    'CREATE INDEX IF NOT EXISTS "exchange_held_idx" ON "grants_exchange" '
    '("grant_id") WHERE "status" = \'held\'',
]
DROP = [
    'DROP INDEX IF EXISTS "disbursement_first_idx"',
    'DROP INDEX IF EXISTS "exchange_held_idx"',
]


def _run_on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("grants", "0013_history_first_move_idx"),
    ]

    operations = [
        migrations.RunPython(_run_on_postgresql(CREATE), _run_on_postgresql(DROP)),
    ]
