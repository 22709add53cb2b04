"""What a grant keeps of its completion report (``Grant.report_submitted_on``, the
submission as a local date of TIME_ZONE, and ``report_accepted_at``; kept by the
workflow's report effects), and two partial indexes of the completed grants that the
fund manager's home reads in their order: the grants to close by the acceptance
(``grants.selectors.manager_home``), and the reports waiting for acceptance by their
local submission date (the overdue list's walk, ``analytics.cycletimes._overdue_walks``).
The report's own indexes could not serve them: most accepted reports are of closed
grants, which the walk in acceptance order read through (hundreds of milliseconds at
200,000 grants), and the local date was computed and sorted for every waiting report.

The grants that have a report are filled from it in one UPDATE (a correlated subquery
per column on the report's unique grant key), on PostgreSQL and SQLite alike; partial
indexes in plain SQL like 0018's."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone


def backfill(apps, schema_editor):
    Grant = apps.get_model("grants", "Grant")
    CompletionReport = apps.get_model("results", "CompletionReport")
    zone = timezone.get_default_timezone()
    alias = schema_editor.connection.alias
    reports = CompletionReport.objects.using(alias).filter(grant=OuterRef("pk"))
    Grant.objects.using(alias).filter(
        pk__in=CompletionReport.objects.using(alias).values("grant_id")
    ).update(
        report_submitted_on=Subquery(
            reports.annotate(day=TruncDate("submitted_at", tzinfo=zone)).values("day")[:1]
        ),
        report_accepted_at=Subquery(reports.values("accepted_at")[:1]),
    )
    if schema_editor.connection.vendor == "postgresql":
        # The planner's statistics for the new columns (as 0018).
        schema_editor.execute('ANALYZE "grants_grant"')


INDEXES = {
    "grant_to_close_walk_idx": (
        '("report_accepted_at", "id") '
        'WHERE "status" = \'completed\' AND "report_accepted_at" IS NOT NULL'
    ),
    "grant_report_waiting_walk_idx": (
        '("report_submitted_on", "id") '
        'WHERE "status" = \'completed\' AND "report_accepted_at" IS NULL'
    ),
}


def create_indexes(apps, schema_editor):
    for name, definition in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "grants_grant" {definition}')


def drop_indexes(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("grants", "0018_grant_first_moves"),
        ("results", "0007_lessons_and_feedback"),
    ]

    operations = [
        migrations.AddField(
            model_name="grant",
            name="report_submitted_on",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="grant",
            name="report_accepted_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
