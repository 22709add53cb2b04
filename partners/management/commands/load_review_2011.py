from django.core.management.base import BaseCommand

from partners.review_2011 import load_review_contributions


class Command(BaseCommand):
    help = (
        "Load the 2011 review's demo data (idempotent): the nine partners of Annex C, "
        "their pledges, and the money they paid in."
    )

    def handle(self, *args, **options):
        created = load_review_contributions()
        self.stdout.write(
            "Review 2011 loaded: "
            + ", ".join(f"{count} {name} created" for name, count in created.items())
        )
