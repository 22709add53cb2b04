from django.core.management.base import BaseCommand
from django.db import transaction

from partners.review_2011 import load_review_contributions
from results.review_2011 import load_review_lessons, load_review_projects, load_review_stories


class Command(BaseCommand):
    help = (
        "Load the 2011 review's demo data (idempotent): the nine partners of Annex C with "
        "their pledges and receipts, the 21 completed projects of Annex D as closed grants "
        "with their capacity outcomes, and the six exchanges described in its boxes with a "
        "published results story and a reviewed, self-reported lesson each."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        created = load_review_contributions()
        created.update(load_review_projects())
        created.update(load_review_stories())
        created.update(load_review_lessons())
        self.stdout.write(
            "Review 2011 loaded: "
            + ", ".join(f"{count} {name} created" for name, count in created.items())
        )
