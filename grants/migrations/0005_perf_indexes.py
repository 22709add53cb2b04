"""Indexes for what the grant list, the reports and the donor dashboard filter and order on.

Two plain indexes (declared on the model): the list's default order (newest first, id
breaking ties) and the largest grants first, each ending with the id so that keyset
cursors seek straight to their position.

Two covering indexes on PostgreSQL only (SQLite cannot build indexes with non-key
columns, so they are not declared on the model, like the search indexes of results
0003): the portfolio by status, region and sector with the approved amounts (the donor
dashboard aggregates it from the index alone), and grants by status and id with the
columns the capacity-outcomes report and the role scoping read.
"""

from django.db import migrations, models

CREATE = [
    'CREATE INDEX IF NOT EXISTS "grant_portfolio_idx" ON "grants_grant" '
    '("status", "region", "sector_id") INCLUDE ("approved_usd")',
    'CREATE INDEX IF NOT EXISTS "grant_status_id_idx" ON "grants_grant" '
    '("status", "id") INCLUDE ("task_team_leader_id", "reference", "title")',
]
DROP = [
    'DROP INDEX IF EXISTS "grant_portfolio_idx"',
    'DROP INDEX IF EXISTS "grant_status_id_idx"',
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
        ("grants", "0004_jobs"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="grant",
            index=models.Index(fields=["-created_at", "-id"], name="grant_created_id_idx"),
        ),
        migrations.AddIndex(
            model_name="grant",
            index=models.Index(fields=["requested_usd", "id"], name="grant_requested_id_idx"),
        ),
        migrations.RunPython(_run_on_postgresql(CREATE), _run_on_postgresql(DROP)),
    ]
