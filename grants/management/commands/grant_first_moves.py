from django.core.management.base import BaseCommand
from django.db import transaction

from grants.services import grant_first_moves_recompute


class Command(BaseCommand):
    help = (
        "Recompute every grant's first-move dates (first submitted, first approved) from "
        "its history, and its completion report's submission date from the report, in "
        "TIME_ZONE's dates: run it after changing TIME_ZONE, whose dates the overdue list "
        "orders by (the rows written before were dated in the old zone)."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            count = grant_first_moves_recompute()
        self.stdout.write(f"{count} grant(s) recomputed.")
