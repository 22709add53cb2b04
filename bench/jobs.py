"""One job over the benchmark's database, measured: `python bench/jobs.py reminders
YYYY-MM-DD`, `python bench/jobs.py funding`, `python bench/jobs.py iati` (writing the
IATI activity file, as `iati_export` and the first request after a change do),
`python bench/jobs.py export OUT.xlsx` (the portfolio as the import's workbook),
`python bench/jobs.py import FILE [--dry-run]` (a workbook into this database, as the
fund manager bench-fm when it exists), `python bench/jobs.py notifications` (the
catch-up of the notification e-mails to send at once, as `run_jobs` and beat run it) or
`python bench/jobs.py digests YYYY-MM-DD` (the daily digests of that day). Prints one
JSON line: seconds, queries, the process's peak resident memory and how much it grew
during the job, and the job's own counts. Each job runs in a fresh process, and the peak
is that process's own (``bench.memory``: not the driver's, which ``ru_maxrss`` keeps
across ``exec``)."""

import json
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.memory import peak_rss_mib  # noqa: E402
from collaboration.delivery import send_digests, send_pending_notifications  # noqa: E402
from grants.alerts import run_fund_check  # noqa: E402
from grants.reminders import run_reminders  # noqa: E402
from iati.activities import activity_chunks  # noqa: E402
from portability.exporter import write as write_portfolio  # noqa: E402
from portability.importer import import_portfolio  # noqa: E402


def write_iati_activities() -> str:
    """The activity file written to a scratch file, as `iati_export` writes it."""
    import tempfile

    size = activities = 0
    with tempfile.TemporaryFile() as handle:
        for chunk in activity_chunks():
            handle.write(chunk)
            size += len(chunk)
            activities += chunk.count(b"<iati-activity ")
    return f"{size:,} bytes, {activities:,} activities"


def main():
    job = sys.argv[1]
    connection.ensure_connection()
    before = peak_rss_mib()
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        if job == "reminders":
            run = run_reminders(as_of=date.fromisoformat(sys.argv[2]))
            result = (
                f"as of {sys.argv[2]}: {run.claimed} claimed, {run.sent} sent, "
                f"{run.withdrawn} withdrawn, {run.failed} failed"
                if hasattr(run, "withdrawn")
                else f"as of {sys.argv[2]}: {run.claimed} claimed, {run.sent} sent"
            )
        elif job == "funding":
            check = run_fund_check()
            result = (
                f"raised {check.raised or 'none'}, resolved {check.resolved or 'none'}, "
                f"{check.notified} e-mailed"
            )
        elif job == "iati":
            result = write_iati_activities()
        elif job == "notifications":
            run = send_pending_notifications()
            result = f"{run.sent} sent, {run.failed} failed"
        elif job == "digests":
            run = send_digests(as_of=date.fromisoformat(sys.argv[2]))
            result = f"as of {sys.argv[2]}: {run.sent} notifications sent, {run.failed} failed"
        elif job == "export":
            out = Path(sys.argv[2])
            write_portfolio(out)
            result = f"{out.stat().st_size / 1024 / 1024:.1f} MB written"
        elif job == "import":
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(username="bench-fm").first()
            run = import_portfolio(sys.argv[2], user=user, dry_run="--dry-run" in sys.argv)
            if run.problems:
                result = f"{len(run.problems)} problems, first: {run.problems[0]}"
            else:
                result = run.summary()
        else:
            raise SystemExit(f"Unknown job {job!r}")
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "queries": queries,
                "peak_rss_mib": round(peak, 1),
                "rss_growth_mib": round(peak - before, 1),
                "result": result,
            }
        )
    )


if __name__ == "__main__":
    main()
