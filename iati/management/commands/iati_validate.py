"""``manage.py iati_validate FILE...``: the three layers (schema, codelists, ruleset) on
each file; exit 0 when every file is valid, else each error with its line and layer, 1."""

from django.core.management.base import BaseCommand, CommandError

from iati.conf import SchemaDirMissing
from iati.validation import ERROR, validate


class Command(BaseCommand):
    help = (
        "Validate IATI 2.03 files against the official schema, codelists and standard "
        "ruleset in IATI_SCHEMA_DIR (no internet needed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--warnings", action="store_true", help="Print the ruleset's warnings too."
        )

    def handle(self, *args, files, warnings, **options):
        failed = False
        for name in files:
            try:
                findings = validate(name)
            except SchemaDirMissing as error:
                raise CommandError(str(error)) from None
            except OSError as error:
                raise CommandError(f"{name}: {error}") from None
            errors = [f for f in findings if f.severity == ERROR]
            shown = findings if warnings else errors
            for finding in shown:
                self.stdout.write(f"{name}: {finding}")
            count = len(findings) - len(errors)
            if errors:
                failed = True
                self.stdout.write(f"{name}: INVALID, {len(errors)} errors, {count} warnings")
            else:
                self.stdout.write(f"{name}: valid (0 errors, {count} warnings)")
        if failed:
            raise SystemExit(1)
