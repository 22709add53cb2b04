"""Seed the six capacity outcomes, and on PostgreSQL the full-text search indexes.

The GIN indexes are PostgreSQL-only, so they are not declared on the models (SQLite
could not build them, neither now nor when it rebuilds a table in a later migration):

- ``results_story_search_gin`` on ``ResultsStory.search_vector``, which the story
  services keep (title weighted A, body B);
- ``results_report_lessons_fts`` on the lessons of completion reports, an expression
  index matching ``SearchVector("lessons", config="english")`` exactly as Django writes
  it, so that the knowledge hub's lesson search can use it.
"""

from django.db import migrations

# The values of grants.models.CapacityOutcome, frozen here as a migration must be.
OUTCOMES = [
    ("raised_awareness", "Raised awareness"),
    ("enhanced_knowledge_and_skills", "Enhanced knowledge and skills"),
    ("improved_consensus_and_teamwork", "Improved consensus and teamwork"),
    ("strengthened_coalitions", "Strengthened coalitions"),
    ("enhanced_networks", "Enhanced networks"),
    ("increased_implementation_knowhow", "Increased implementation know-how"),
]

CREATE_INDEXES = [
    'CREATE INDEX IF NOT EXISTS "results_story_search_gin" ON "results_resultsstory" '
    'USING gin ("search_vector")',
    'CREATE INDEX IF NOT EXISTS "results_report_lessons_fts" ON "results_completionreport" '
    "USING gin (to_tsvector('english'::regconfig, COALESCE(\"lessons\", '')))",
]
DROP_INDEXES = [
    'DROP INDEX IF EXISTS "results_story_search_gin"',
    'DROP INDEX IF EXISTS "results_report_lessons_fts"',
]


def seed_outcomes(apps, schema_editor):
    Outcome = apps.get_model("results", "Outcome")
    for code, name in OUTCOMES:
        Outcome.objects.update_or_create(code=code, defaults={"name": name})


def unseed_outcomes(apps, schema_editor):
    apps.get_model("results", "Outcome").objects.filter(
        code__in=[code for code, _ in OUTCOMES]
    ).delete()


def _run_on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("results", "0002_results_stories"),
    ]

    operations = [
        migrations.RunPython(seed_outcomes, unseed_outcomes),
        migrations.RunPython(
            _run_on_postgresql(CREATE_INDEXES), _run_on_postgresql(DROP_INDEXES)
        ),
    ]
