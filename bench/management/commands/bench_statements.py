"""The analytics reports' own statements, as text, for the benchmark's bare WSGI floor
(bench/bare_wsgi.py), which runs them with no Django: bench/run writes them before it
starts that floor. ``__SCOPED__`` stands where the floor puts its own SQL for the grants
the user may see, ``__ZONE__`` where the fund's time zone goes (analytics.*_sql).

The exchange flows and the portfolio indicators have two statements each: over the kept
facts of the grants in scope, and over their sums per status (for a user who sees whole
statuses), whose parameter is the statuses."""

import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from analytics import cycletimes_sql, flows_sql, indicators_sql
from analytics.cycletimes_sql import _in
from analytics.portfolio import COMPLETED, INDICATORS, UNITS
from analytics.steps import STEPS, WAITS, service_standards
from grants.models import APPROVED_AND_LATER

# The groupings bench/run measures (the floor answers those only).
CYCLE_TIMES_GROUP_BY = ("quarter",)
FLOWS_BY = ("country",)


def indicators_statements() -> dict:
    """The indicators' statements (analytics.indicators_sql) over the grants approved and
    later: of the facts of the grants in scope (``__SCOPED__``), and of the sums per
    status (its parameter, the statuses)."""
    approved = f"status IN {_in(APPROVED_AND_LATER)} AND grant_id IN (__SCOPED__)"
    scoped = indicators_sql._statement(COMPLETED).replace("grant_id IN (__SCOPED__)", approved)
    if approved not in scoped:
        raise RuntimeError("The indicators' statement no longer reads the scoped grants so.")
    return {"statement": scoped, "totals_statement": indicators_sql._totals_statement(COMPLETED)}


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
            **indicators_statements(),
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
