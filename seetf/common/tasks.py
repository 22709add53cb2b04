"""Housekeeping for seetf.common, run daily by Celery beat."""

from celery import shared_task

from .datacache import compact_data_changes


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def compact_data_version():
    """Fold the data version's change rows into one (PostgreSQL; see datacache)."""
    return {"removed": compact_data_changes()}
