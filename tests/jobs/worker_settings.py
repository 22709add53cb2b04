"""Settings for the Celery workers that test_worker.py starts: the test settings, with a
real broker, the test's own database, and e-mail spooled to files the test reads."""

import os

from seetf.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
CELERY_RESULT_BACKEND = os.environ["CELERY_RESULT_BACKEND"]
CELERY_RESULT_EXPIRES = 600
# The database pytest-django created for the test (DATABASE_URL names the real one).
DATABASES["default"]["NAME"] = os.environ["SEETF_WORKER_DB_NAME"]  # noqa: F405
EMAIL_BACKEND = "tests.jobs.mail_backends.SpoolBackend"
EMAIL_FILE_PATH = os.environ["SEETF_WORKER_MAIL_DIR"]
LOGGING["root"]["level"] = "INFO"  # noqa: F405
