"""The exchanges' map of the dashboard and the hub (analytics.portfolio.exchange_flows_both)
reads its flows in five queries on SQLite; on PostgreSQL in two (the grants noted since
the flow facts were computed, the sums: analytics.flows_sql) once the facts are
computed, as Celery beat keeps them (analytics.tasks.refresh_flow_facts)."""

from django.db import connection, transaction


def map_queries() -> int:
    return 2 if connection.vendor == "postgresql" else 5


def flow_facts_refreshed() -> None:
    """The flow facts of every grant noted computed (beat's refresh), on PostgreSQL."""
    if connection.vendor == "postgresql":
        from analytics.flows_sql import refresh_flow_facts

        with transaction.atomic():
            refresh_flow_facts()
