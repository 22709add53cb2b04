"""``manage.py iati_export --out DIR``: writes ``activities.xml`` and
``organisation.xml`` into DIR, for an upload to the IATI Registry."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand

from iati.publish import write_files


class Command(BaseCommand):
    help = "Write the fund's IATI 2.03 activity and organisation files into a folder."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, metavar="DIR", help="The folder to write.")

    def handle(self, *args, out, **options):
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        written = write_files(folder)
        seconds = time.perf_counter() - started
        for path, size in written.items():
            self.stdout.write(f"{path}: {size:,} bytes")
        self.stdout.write(f"written in {seconds:.1f} s")
