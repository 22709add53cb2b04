"""The analytics reports' own statements, as text, for the benchmark's bare WSGI floor
(bench/bare_wsgi.py), which runs them with no Django: bench/run writes them before it
starts that floor. ``__SCOPED__`` stands where the floor puts its own SQL for the grants
the user may see, ``__ZONE__`` where the fund's time zone goes (analytics.*_sql)."""

import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from analytics import cycletimes_sql, flows_sql
from analytics.steps import STEPS, WAITS, service_standards

# The groupings bench/run measures (the floor answers those only).
CYCLE_TIMES_GROUP_BY = ("quarter",)
FLOWS_BY = ("country",)


def statements() -> dict:
    standards = service_standards()
    return {
        "zone": timezone.get_default_timezone_name(),
        "standards": standards,
        "steps": list(STEPS),
        "waits": list(WAITS),
        "cycle_times": {g: cycletimes_sql._statement(g, standards) for g in CYCLE_TIMES_GROUP_BY},
        "exchange_flows": {by: flows_sql._statement(by) for by in FLOWS_BY},
    }


class Command(BaseCommand):
    help = "Write the analytics reports' statements as JSON, for bench/bare_wsgi.py."

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, help="The JSON file to write.")

    def handle(self, *args, output, **options):
        with open(output, "w", encoding="utf-8") as out:
            json.dump(statements(), out, indent=1)
