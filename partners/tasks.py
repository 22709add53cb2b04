"""Celery entry points of partners: the daily purge of expired idempotency keys. (The
funding-balance check is grants': grants/tasks.py.)"""

from celery import shared_task

from seetf.common.idempotency import purge_expired_idempotency_keys


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def purge_idempotency_keys():
    return purge_expired_idempotency_keys()
