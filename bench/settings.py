"""Settings for the benchmark: production settings, served over plain HTTP on loopback,
with the benchmark's floor views mounted (bench/urls.py) and a per-request query count
for the requests that ask for it. Used only by bench/run, never deployed."""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")

from seetf.settings.production import *  # noqa: E402, F403
from seetf.settings.production import DATABASES, LOGGING, MIDDLEWARE, env  # noqa: E402

SEETF_BENCH = env.bool("SEETF_BENCH", default=True)
# The benchmark's app: `generate_portfolio`, which bench/run calls with these settings.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
ROOT_URLCONF = "bench.urls"
# Persistent connections, as docker compose deploys (CONN_MAX_AGE=60) and as the bare
# WSGI floor keeps its own: a connection per request would measure connecting.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# First, so that it counts every query of the request (sessions and auth included).
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
# The jobs' e-mail is rendered and handed to a backend that drops it: the benchmark
# measures the jobs, not a mail server.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
LOGGING["root"]["level"] = "WARNING"
# The benchmark signs its users in with a password only (bench/run.py: the token endpoint
# and the login page): it measures the pages and the API, not the second factor. With two
# factors a fund manager's pages read one row more (the authenticator that verified the
# session; tests/perf/test_query_counts.py counts it).
SEETF_TWO_FACTOR_ROLES = []
# The IATI export checks codes against the official codelists, as a deployment would:
# the repository's sibling ../shared/iati unless IATI_SCHEMA_DIR says otherwise.
_iati = BASE_DIR.parent / "shared" / "iati"  # noqa: F405
IATI_SCHEMA_DIR = env("IATI_SCHEMA_DIR", default=str(_iati) if _iati.is_dir() else "")
