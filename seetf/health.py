"""Health endpoints for operators (docker compose, a load balancer, an orchestrator).

- ``/healthz``: the process answers. No database, no cache: a probe that restarts the
  process must not restart it because PostgreSQL is down.
- ``/readyz``: the database, the cache and, when Celery has a broker (a URL set and tasks
  not run in-process), the broker answer, each with its time in milliseconds; 200 when
  all do, 503 when one does not.

Both are unauthenticated and say nothing beyond that: no versions, hosts or exception
texts (a failed check is ``"ok": false`` with a fixed word, ``timeout`` or ``error``; the
exception goes to the log). GET and HEAD only; ``Cache-Control: no-store``, so that no
proxy answers for the process. They sit outside ``/api/``: not part of the API contract,
no login, no lockout.
"""

import logging
import secrets
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from seetf.celery import app as celery_app

logger = logging.getLogger(__name__)

# Seconds the broker may take to accept a connection and answer (a probe's own timeout,
# docker compose's 15 s, must leave room for the other checks).
BROKER_TIMEOUT_SECONDS = 2.0


def operators_endpoint(view):
    """GET and HEAD only (405 otherwise, not a CSRF refusal: nothing is posted), and
    never stored by a cache, whatever the answer."""

    safe_only = require_safe(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = safe_only(request, *args, **kwargs)
        patch_cache_control(response, no_store=True)
        return response

    return csrf_exempt(wrapped)


@operators_endpoint
def healthz(request):
    return JsonResponse({"status": "ok"})


@operators_endpoint
def readyz(request):
    checks = {name: _timed(name, check) for name, check in _checks().items()}
    ok = all(result["ok"] for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503
    )


def _checks() -> dict[str, Callable[[], None]]:
    checks = {"database": check_database, "cache": check_cache}
    if broker_configured():
        checks["broker"] = check_broker
    return checks


def broker_configured() -> bool:
    """A broker is in use: a URL is set and tasks are not run in-process."""
    return bool(settings.CELERY_BROKER_URL) and not settings.CELERY_TASK_ALWAYS_EAGER


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 did not give 1")


def check_cache() -> None:
    # A key of its own per probe: two probes at once must not read each other's value.
    key, value = f"seetf:readyz:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not give back what was set")
    finally:
        cache.delete(key)


def check_broker() -> None:
    """A connection to the broker, through the Celery app (its transport options), within
    ``BROKER_TIMEOUT_SECONDS``: no retry (a probe is retried by whoever probes), and a
    socket timeout as well as a connect timeout, for a broker that accepts and is silent."""
    with celery_app.connection_for_read(
        settings.CELERY_BROKER_URL,
        connect_timeout=BROKER_TIMEOUT_SECONDS,
        transport_options={
            "socket_timeout": BROKER_TIMEOUT_SECONDS,
            "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        },
    ) as broker:
        broker.ensure_connection(max_retries=0)


def _timed(name: str, check: Callable[[], None]) -> dict:
    started = time.perf_counter()
    try:
        check()
        result = {"ok": True}
    # Whatever a dependency raises, the answer is "not ready", never a 500, and the
    # exception's text (hosts, versions) stays in the log.
    except Exception as exc:  # noqa: BLE001
        logger.warning("readyz: the %s check failed: %s: %s", name, type(exc).__name__, exc)
        result = {"ok": False, "error": "timeout" if _is_timeout(exc) else "error"}
    return {**result, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _is_timeout(exc: BaseException | None) -> bool:
    # Each library has its own timeout class (socket's, redis's, kombu's wrapping one):
    # look along the chain of causes for a class named after a timeout.
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False
