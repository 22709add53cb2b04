"""Test settings: the same as base, with a fast hasher and e-mail kept in memory."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")

from .base import *  # noqa: E402, F403

# The benchmark's app: the portfolio generator the scale tests (tests/perf) use.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Tests run Celery tasks in-process unless a test starts a real worker itself.
CELERY_TASK_ALWAYS_EAGER = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the in-memory default: tests that write from several threads at once
    # then exercise the same locking (IMMEDIATE transactions, busy timeout) as a user.
    # SEETF_TEST_SQLITE_NAME gives a run its own file, for two test runs at once in one
    # checkout (each would otherwise delete and recreate the other's database).
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.environ.get("SEETF_TEST_SQLITE_NAME") or str(BASE_DIR / ".test-db.sqlite3")  # noqa: F405
    }

# The official IATI files the tests validate against: the repository's sibling
# ../shared/iati unless IATI_SCHEMA_DIR says otherwise (tests/iati fail, never skip, when
# it is missing).
IATI_SCHEMA_DIR = os.environ.get("IATI_SCHEMA_DIR") or str(BASE_DIR.parent / "shared" / "iati")  # noqa: F405
IATI_CACHE_DIR = os.environ.get("SEETF_TEST_IATI_CACHE_DIR") or str(BASE_DIR / ".test-iati-cache")  # noqa: F405
# A parallel run (pytest-xdist, `make test`): each worker has a database of its own
# (pytest-django adds the worker's name to it), whose data versions start again at the
# same numbers, so it has a cache folder of its own too.
if os.environ.get("PYTEST_XDIST_WORKER"):
    IATI_CACHE_DIR = f"{IATI_CACHE_DIR}-{os.environ['PYTEST_XDIST_WORKER']}"

# Documents uploaded by tests go to a folder of the run's own, not the checkout's var/.
import tempfile  # noqa: E402

STORAGES["documents"] = {  # noqa: F405
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": tempfile.mkdtemp(prefix="seetf-test-documents-")},
}
