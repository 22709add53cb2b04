"""Grant references: SEETF-YYYY-NNNN, given at a grant's first submission."""

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import ReferenceCounter


def next_grant_reference(year: int) -> str:
    """SEETF-YYYY-NNNN from the year's counter, taken under its row lock: concurrent
    first submissions wait for each other, so no number is given twice (and the unique
    constraint on Grant.reference would refuse it anyway)."""
    try:
        with transaction.atomic():
            ReferenceCounter.objects.get_or_create(year=year)
    except IntegrityError:
        pass  # Another submission created this year's counter at the same moment.
    counter = ReferenceCounter.objects.select_for_update().get(year=year)
    counter.last_number = F("last_number") + 1
    counter.save(update_fields=["last_number"])
    counter.refresh_from_db(fields=["last_number"])
    return f"SEETF-{year}-{counter.last_number:04d}"
