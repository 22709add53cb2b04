"""Partial indexes on PostgreSQL for the fund manager's home page, whose lists each show
the first 25 grants of a few hundred or thousand in a 20,000-grant fund.

- The review queue (grants waiting for a decision, oldest submission first): the
  pipeline's grants by (submitted_at, id), with the requested amount so that the fund's
  pipeline total (``selectors.fund_summary``) is summed from the index alone.
- Overdue completion reports (``selectors.overdue_reports``, the most overdue first):
  approved grants by (completion_report_due, id). The plain index on the due date made
  the database walk past every closed grant due earlier.

Each is read in its order and stops after 26 entries, instead of sorting every matching
grant. Created like the covering indexes of 0005 and not declared on the model: the
model state stays the same on both back ends, and SQLite's small databases do not need
them.
"""

from django.db import migrations

CREATE = [
    'CREATE INDEX IF NOT EXISTS "grant_review_queue_idx" ON "grants_grant" '
    '("submitted_at", "id") INCLUDE ("requested_usd") '
    "WHERE \"status\" IN ('submitted', 'under_review')",
    'CREATE INDEX IF NOT EXISTS "grant_report_due_idx" ON "grants_grant" '
    '("completion_report_due", "id") WHERE "status" = \'approved\'',
]
DROP = [
    'DROP INDEX IF EXISTS "grant_review_queue_idx"',
    'DROP INDEX IF EXISTS "grant_report_due_idx"',
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
        ("grants", "0005_perf_indexes"),
    ]

    operations = [
        migrations.RunPython(_run_on_postgresql(CREATE), _run_on_postgresql(DROP)),
    ]
