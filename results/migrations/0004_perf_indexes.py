"""A covering index on PostgreSQL only (SQLite cannot build indexes with non-key
columns, so it is not declared on the model, like the search indexes of 0003): each
completion report's outcomes, acceptance and id by grant, so that the capacity-outcomes
report and the outcome totals read the index alone, not rows that carry the lessons."""

from django.db import migrations

OUTCOMES = (
    '"raised_awareness", "enhanced_knowledge_and_skills", "improved_consensus_and_teamwork", '
    '"strengthened_coalitions", "enhanced_networks", "increased_implementation_knowhow"'
)
CREATE = [
    'CREATE INDEX IF NOT EXISTS "report_outcomes_idx" ON "results_completionreport" '
    f'("grant_id") INCLUDE ({OUTCOMES}, "accepted_at", "id")',
]
DROP = ['DROP INDEX IF EXISTS "report_outcomes_idx"']


def _run_on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0003_outcomes_and_search_indexes"),
    ]

    operations = [
        migrations.RunPython(_run_on_postgresql(CREATE), _run_on_postgresql(DROP)),
    ]
