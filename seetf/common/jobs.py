"""The daily jobs that apps higher in the layers add to ``manage.py run_jobs`` (grants
runs its own reminders and fund check first; grants may not import those apps). Each
registers, from its AppConfig.ready, a function of the day that does the job once, as
its Celery beat task does, and returns the line to print; it raises ``DailyJobFailed``
when part of the work could not be done and stays pending for the next run."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date


class DailyJobFailed(Exception):
    """Some of the job's work failed and stays pending; the message says what."""


@dataclass(frozen=True)
class DailyJob:
    name: str
    run: Callable[[date], str]


_JOBS: dict[str, DailyJob] = {}


def register_daily_job(name: str, run: Callable[[date], str]) -> None:
    """Add (or, under the same name, replace) a job; run in the order registered."""
    _JOBS[name] = DailyJob(name, run)


def daily_jobs() -> list[DailyJob]:
    return list(_JOBS.values())
