"""The operators' endpoints (issue 12, point 4): ``/healthz`` says the process answers,
``/readyz`` that the database, the cache and (when configured) the broker do, with the
time each took; both unauthenticated, GET and HEAD only, never cached, and telling nothing
beyond ok or not (no hosts, versions or exception texts)."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import override_settings
from django.urls import reverse

from seetf import health

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
# What a failing dependency's exception says, that the answer must not repeat.
SECRET_DETAIL = "db-primary.internal:5432 PostgreSQL 16.4 password authentication"

pytestmark = pytest.mark.django_db


def redis_or_skip():
    """The broker tests need a Redis, as tests/jobs/test_worker.py does: skipped with the
    reason shown when there is none, a failure in CI."""
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError:
        message = f"needs Redis at {BROKER} (CELERY_TEST_BROKER_URL)"
        if os.environ.get("CI") or os.environ.get("SEETF_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)


def with_broker(url):
    return override_settings(CELERY_BROKER_URL=url, CELERY_TASK_ALWAYS_EAGER=False)


def readiness(anon, status):
    response = anon.get("/readyz")
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert set(body) == {"status", "checks"}
    for name, check in body["checks"].items():
        # Nothing but ok, the time and, on failure, one fixed word.
        assert set(check) == ({"ok", "ms"} if check["ok"] else {"ok", "ms", "error"}), name
        assert isinstance(check["ms"], float) and check["ms"] >= 0
        assert check.get("error", "timeout") in ("timeout", "error")
    assert SECRET_DETAIL not in response.content.decode()
    return body


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- /healthz ---------------------------------------------------------------------------


def test_healthz_answers_without_touching_the_database(anon, django_assert_num_queries):
    assert reverse("healthz") == "/healthz"
    with django_assert_num_queries(0):
        response = anon.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_healthz_answers_while_the_database_is_down(anon, monkeypatch):
    monkeypatch.setattr(connection, "cursor", _raise(OperationalError(SECRET_DETAIL)))
    response = anon.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# --- /readyz ----------------------------------------------------------------------------


def test_readyz_with_everything_up_checks_the_database_and_the_cache(anon):
    body = readiness(anon, 200)
    assert body["status"] == "ok"
    # The tests run Celery tasks in-process: there is no broker to check.
    assert set(body["checks"]) == {"database", "cache"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_is_503_when_the_database_is_unreachable(anon, monkeypatch):
    monkeypatch.setattr(connection, "cursor", _raise(OperationalError(SECRET_DETAIL)))
    body = readiness(anon, 503)
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {
        "ok": False,
        "error": "error",
        "ms": body["checks"]["database"]["ms"],
    }
    assert body["checks"]["cache"]["ok"] is True


def test_readyz_is_503_when_the_cache_raises(anon, monkeypatch):
    monkeypatch.setattr(cache, "set", _raise(redis.exceptions.ConnectionError(SECRET_DETAIL)))
    body = readiness(anon, 503)
    assert (body["status"], body["checks"]["cache"]["ok"]) == ("fail", False)
    assert body["checks"]["cache"]["error"] == "error"
    assert body["checks"]["database"]["ok"] is True


def test_readyz_is_503_when_the_cache_loses_what_was_set(anon, monkeypatch):
    monkeypatch.setattr(cache, "get", lambda *args, **kwargs: None)
    body = readiness(anon, 503)
    assert body["checks"]["cache"]["ok"] is False


def test_readyz_checks_a_configured_broker(anon):
    redis_or_skip()
    with with_broker(BROKER):
        body = readiness(anon, 200)
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert body["checks"]["broker"]["ok"] is True


def test_a_broker_on_a_closed_port_fails_at_once(anon):
    with with_broker(f"redis://127.0.0.1:{closed_port()}/0"):
        started = time.monotonic()
        body = readiness(anon, 503)
        elapsed = time.monotonic() - started
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"] == "error"
    assert (body["checks"]["database"]["ok"], body["checks"]["cache"]["ok"]) == (True, True)
    assert elapsed < health.BROKER_TIMEOUT_SECONDS, "a refused connection is not retried"


def test_a_broker_that_accepts_and_never_answers_times_out(anon, monkeypatch):
    monkeypatch.setattr(health, "BROKER_TIMEOUT_SECONDS", 0.5)
    with socket.socket() as silent:  # the kernel accepts; nobody ever reads or writes
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        with with_broker(f"redis://127.0.0.1:{silent.getsockname()[1]}/0"):
            started = time.monotonic()
            body = readiness(anon, 503)
            elapsed = time.monotonic() - started
    assert body["checks"]["broker"] == {
        "ok": False,
        "error": "timeout",
        "ms": body["checks"]["broker"]["ms"],
    }
    assert 450 <= body["checks"]["broker"]["ms"] < 2000
    assert elapsed < 3, "within the timeout, not retried"


def test_eager_tasks_mean_no_broker_to_check_even_with_a_url(anon):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port()}/0"):
        body = readiness(anon, 200)
    assert "broker" not in body["checks"]


# --- What both share ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_only_get_and_head(anon, web, path):
    assert anon.head(path).status_code == 200
    for client in (anon, web(None, enforce_csrf_checks=True)):
        for method in ("post", "put", "patch", "delete", "options"):
            response = getattr(client, method)(path)
            assert response.status_code == 405, (method, response.status_code)
            assert response["Allow"] == "GET, HEAD"
            assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_signed_in_or_locked_out_the_answer_is_the_same(anon, web, fund_manager, path):
    # Five failed logins from this address: django-axes locks the next ones out.
    for _ in range(5):
        anon.post(reverse("auth-token"), {"username": "fm", "password": "wrong"})
    locked = anon.post(reverse("auth-token"), {"username": "fm", "password": "wrong"})
    assert locked.status_code == 429
    assert anon.get(path).status_code == 200
    assert web(fund_manager).get(path).status_code == 200


def test_the_production_settings_let_probes_in_over_plain_http(anon):
    # Settings are read once per process: the production ones in a process of their own.
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.SECURE_REDIRECT_EXEMPT))",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "seetf.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(64),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert read.returncode == 0, read.stderr
    exempt = json.loads(read.stdout.strip().splitlines()[-1])
    assert exempt
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=exempt):
        assert anon.get("/readyz").status_code == 200
        assert anon.get("/healthz").status_code == 200
        redirected = anon.get("/api/v1/fund/")
        assert redirected.status_code == 301
        assert redirected["Location"].startswith("https://")


def test_the_health_endpoints_are_not_in_the_api_schema(anon):
    schema = json.loads(anon.get("/api/schema/", {"format": "json"}).content)
    assert not [path for path in schema["paths"] if "healthz" in path or "readyz" in path]


def _raise(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail
