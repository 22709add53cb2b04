from pathlib import Path

from django.core.management.base import BaseCommand

from portability.exporter import write


class Command(BaseCommand):
    help = (
        "Write the portfolio as the workbook import_portfolio reads (OUT.xlsx, or a folder of "
        "CSV files when OUT does not end in .xlsx)."
    )

    def add_arguments(self, parser):
        parser.add_argument("out")

    def handle(self, *args, **options):
        write(Path(options["out"]))
        self.stdout.write(f"Portfolio written to {options['out']}.")
