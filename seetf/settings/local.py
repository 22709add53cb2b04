"""Local development: the embedded default (SQLite, eager Celery, console e-mail)."""

from .base import *  # noqa: F403
