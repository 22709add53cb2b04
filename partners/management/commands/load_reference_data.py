from django.core.management.base import BaseCommand
from django.db import transaction

from partners.models import Country, Sector
from partners.reference_data import load_reference_data


class Command(BaseCommand):
    help = "Create or update every country and DAC sector from the project's data files."

    @transaction.atomic
    def handle(self, *args, **options):
        countries, sectors = load_reference_data(Country, Sector)
        self.stdout.write(f"{countries} countries, {sectors} sectors.")
