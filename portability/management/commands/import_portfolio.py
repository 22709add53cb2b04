from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portability.exporter import write
from portability.importer import import_portfolio

MAX_SHOWN = 1000


class Command(BaseCommand):
    help = (
        "Import a portfolio from an .xlsx workbook or a folder of CSV files (sheets partners, "
        "contributions, receipts, grants, exchanges, disbursements, completion_reports): every "
        "row checked, every problem listed, then all of it written in one transaction or "
        "nothing. --template OUT writes the template to fill in."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="an .xlsx file or a folder of CSV files")
        parser.add_argument("--dry-run", action="store_true", help="check and write nothing")
        parser.add_argument(
            "--user", help="the fund manager the decisions are recorded for (default: seetf-import)"
        )
        parser.add_argument(
            "--template",
            metavar="OUT",
            help="write the template (.xlsx, or a folder of CSV files) and import nothing",
        )

    def handle(self, *args, **options):
        if options["template"]:
            from pathlib import Path

            write(Path(options["template"]), template=True)
            self.stdout.write(f"Template written to {options['template']}.")
            return
        if not options["file"]:
            raise CommandError("Give the file to import (or --template OUT).")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']}.")
        result = import_portfolio(
            options["file"], user=user, dry_run=options["dry_run"], file_name=options["file"]
        )
        if result.problems:
            for problem in result.problems[:MAX_SHOWN]:
                self.stderr.write(str(problem))
            more = len(result.problems) - MAX_SHOWN
            if more > 0:
                self.stderr.write(f"... and {more} more.")
            raise CommandError(f"{len(result.problems)} problem(s) found; nothing was written.")
        if result.dry_run:
            self.stdout.write(
                f"Dry run: the file is good; it would create {result.summary()}. Nothing was "
                "written."
            )
        else:
            self.stdout.write(f"Imported: {result.summary()} in {result.seconds:.1f} s.")
