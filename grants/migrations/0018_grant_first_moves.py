"""Each grant's first move to submitted and to approved, as a local date (TIME_ZONE's),
kept on the grant (``Grant.note_move``), and the partial indexes the overdue list's walks
read in their order (``analytics.cycletimes._overdue_walks``): the pipeline by its first
submission, the approved grants by their approval (those with nothing disbursed, for the
first disbursement's walk, in an index of their own: a handful, where every approved
grant would be probed). The existing grants are filled from their history in one UPDATE
(a correlated subquery per column on the index of 0013), on PostgreSQL and SQLite alike.
Partial indexes in plain SQL like 0015 (SQLite has them too; PostgreSQL's pipeline index
covers the requested amounts, as 0006's does)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

FIELDS = {"submitted": "first_submitted_on", "approved": "first_approved_on"}


def backfill(apps, schema_editor):
    Grant = apps.get_model("grants", "Grant")
    GrantHistory = apps.get_model("grants", "GrantHistory")
    zone = timezone.get_default_timezone()

    def first(status):
        return Subquery(
            GrantHistory.objects.filter(grant=OuterRef("pk"), to_status=status)
            .order_by("at", "id")
            .annotate(day=TruncDate("at", tzinfo=zone))
            .values("day")[:1]
        )

    Grant.objects.using(schema_editor.connection.alias).update(
        **{name: first(status) for status, name in FIELDS.items()}
    )
    if schema_editor.connection.vendor == "postgresql":
        # Every row was rewritten: the planner's statistics again (autovacuum renews the
        # visibility map the index-only scans need; a VACUUM cannot run in a migration).
        schema_editor.execute('ANALYZE "grants_grant"')


INDEXES = {
    # With the requested amounts on PostgreSQL, like 0006's review queue: the pipeline's
    # total (``fund_summary``) is an index-only scan of whichever of the two it reads.
    "grant_first_submitted_walk_idx": (
        '("first_submitted_on", "id") {include}WHERE "status" IN (\'submitted\', \'under_review\')'
    ),
    "grant_first_approved_walk_idx": ('("first_approved_on", "id") WHERE "status" = \'approved\''),
    "grant_undisbursed_walk_idx": (
        '("first_approved_on", "id") WHERE "status" = \'approved\' AND "disbursed_usd" = 0'
    ),
}


def create_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    include = 'INCLUDE ("requested_usd") ' if postgres else ""
    for name, definition in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "grants_grant" '
            + definition.format(include=include)
        )


def drop_indexes(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("grants", "0017_status_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="grant",
            name="first_submitted_on",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="grant",
            name="first_approved_on",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
