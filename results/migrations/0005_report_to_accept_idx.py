"""A partial index on PostgreSQL for the fund manager's home page: the completion
reports waiting to be accepted (submitted, not yet accepted), by (submitted_at,
grant_id). The page lists the oldest 25 of them; without it the database read every
report, most of them long accepted. Created like the covering index of 0004, not
declared on the model."""

from django.db import migrations

CREATE = [
    'CREATE INDEX IF NOT EXISTS "report_to_accept_idx" ON "results_completionreport" '
    '("submitted_at", "grant_id") '
    'WHERE "submitted_at" IS NOT NULL AND "accepted_at" IS NULL',
]
DROP = ['DROP INDEX IF EXISTS "report_to_accept_idx"']


def _run_on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0004_perf_indexes"),
    ]

    operations = [
        migrations.RunPython(_run_on_postgresql(CREATE), _run_on_postgresql(DROP)),
    ]
