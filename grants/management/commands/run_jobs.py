from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from grants.alerts import AlertDeliveryError, run_fund_check
from grants.reminders import ReminderDeliveryError, run_reminders
from seetf.common.datacache import compact_data_changes
from seetf.common.jobs import DailyJobFailed, daily_jobs


class Command(BaseCommand):
    help = (
        "Run the daily jobs once, as Celery beat does: completion-report reminders as of "
        "--date (default today), the funding-balance check, then the jobs other apps "
        "register (the notification e-mails and daily digests), and the cache's "
        "housekeeping."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD: run as if today were this date.")

    def handle(self, *args, **options):
        if options["date"]:
            try:
                as_of = date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError("--date takes YYYY-MM-DD.") from exc
        else:
            as_of = timezone.localdate()
        failed = False
        try:
            run = run_reminders(as_of=as_of)
            self.stdout.write(f"Reminders as of {as_of}: {run.claimed} new, {run.sent} sent.")
        except ReminderDeliveryError as exc:
            failed = True
            self.stderr.write(f"Some reminders could not be sent (they stay pending): {exc}")
        try:
            check = run_fund_check()
            self.stdout.write(
                f"Fund check: raised {check.raised or 'none'}, resolved "
                f"{check.resolved or 'none'}, {check.notified} e-mailed."
            )
        except AlertDeliveryError as exc:
            failed = True
            self.stderr.write(f"An alert could not be e-mailed (it stays pending): {exc}")
        for job in daily_jobs():
            try:
                self.stdout.write(job.run(as_of))
            except DailyJobFailed as exc:
                failed = True
                self.stderr.write(f"{job.name}: {exc}")
        # Housekeeping beat also does daily: the data version's change rows folded into one.
        compact_data_changes()
        if failed:
            raise CommandError("Some e-mails failed; run again once the mail server is back.")
