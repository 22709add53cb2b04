"""Local development: the embedded default (SQLite, eager Celery, console e-mail)."""

from .base import *  # noqa: F403

# The benchmark's app: `manage.py generate_portfolio` (README "Performance").
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
