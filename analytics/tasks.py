"""The cycle facts and the exchange-flow facts kept fresh between reports, run by Celery
beat (every 15 minutes)."""

from celery import shared_task
from django.db import connection, transaction


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def refresh_cycle_facts():
    """Compute again the cycle facts of the grants changed since the last refresh
    (PostgreSQL, where the report reads them: analytics.cycletimes_sql): the first
    cycle-times report after a busy day then finds a few grants noted, not the day's
    thousands, and the table of grants noted stays short."""
    if connection.vendor != "postgresql":
        return {"refreshed": 0}
    from .cycletimes_sql import refresh_cycle_facts as refresh

    with transaction.atomic():
        return {"refreshed": refresh()}


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def refresh_flow_facts():
    """Compute again the exchange-flow facts of the grants changed since the last
    refresh (PostgreSQL: analytics.flows_sql), as ``refresh_cycle_facts`` does for the
    cycle facts."""
    if connection.vendor != "postgresql":
        return {"refreshed": 0}
    from .flows_sql import refresh_flow_facts as refresh

    with transaction.atomic():
        return {"refreshed": refresh()}
