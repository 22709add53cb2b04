"""The analytics reports' own statements, as text, for the benchmark's bare WSGI floor
(bench/bare_wsgi.py), which runs them with no Django: bench/run writes them before it
starts that floor. ``__SCOPED__`` stands where the floor puts its own SQL for the grants
the user may see, ``__ZONE__`` where the fund's time zone goes (analytics.*_sql).

The portfolio indicators' three aggregates are the ORM's: the report is run once over no
grants (a marker subquery where the scoped grants go) and its statements are caught as
the database would receive them, the marker then replaced by ``__SCOPED__``."""

import json

from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils import timezone

from analytics import cycletimes_sql, flows_sql
from analytics.portfolio import INDICATORS, UNITS, approved_in_period, portfolio_indicators
from analytics.steps import STEPS, WAITS, service_standards
from grants.models import Grant

# The groupings bench/run measures (the floor answers those only).
CYCLE_TIMES_GROUP_BY = ("quarter",)
FLOWS_BY = ("country",)


# Selects no grant; stands where the floor's scoped grants go.
MARKER = "SELECT NULL::bigint WHERE 'bench' = 'scoped'"


def indicators_statements() -> list[str]:
    """The indicators' statements, in the order the report runs them (the grants'
    figures, the countries by role, the exchanges held), with ``__SCOPED__``."""
    caught: list[str] = []

    def catch(execute, sql, params, many, context):
        caught.append(connection.ops.compose_sql(sql, params))
        return execute(sql, params, many, context)

    grants = approved_in_period(Grant.objects.filter(pk__in=RawSQL(MARKER, [])))
    with connection.execute_wrapper(catch):
        portfolio_indicators(grants)
    if len(caught) != 3 or not all(MARKER in sql for sql in caught):
        raise RuntimeError(f"The indicators ran {len(caught)} statements, not the three known.")
    return [sql.replace(MARKER, "__SCOPED__") for sql in caught]


def statements() -> dict:
    standards = service_standards()
    return {
        "zone": timezone.get_default_timezone_name(),
        "standards": standards,
        "steps": list(STEPS),
        "waits": list(WAITS),
        "cycle_times": {g: cycletimes_sql._statement(g, standards) for g in CYCLE_TIMES_GROUP_BY},
        "exchange_flows": {by: flows_sql._statement(by) for by in FLOWS_BY},
        # Its parameter: the statuses in scope, for a user who sees whole statuses.
        "exchange_flow_totals": {by: flows_sql._totals_statement(by) for by in FLOWS_BY},
        "portfolio_indicators": {
            "statements": indicators_statements(),
            "rows": [
                {"indicator": key, "label": str(label), "unit": UNITS.get(key, "count")}
                for key, label in INDICATORS.items()
            ],
        },
    }


class Command(BaseCommand):
    help = "Write the analytics reports' statements as JSON, for bench/bare_wsgi.py."

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, help="The JSON file to write.")

    def handle(self, *args, output, **options):
        with open(output, "w", encoding="utf-8") as out:
            json.dump(statements(), out, indent=1)
