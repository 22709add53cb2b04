"""Grant references: SEETF-YYYY-NNNN, given at a grant's first submission."""

import re

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import ReferenceCounter

REFERENCE_PATTERN = re.compile(r"SEETF-(\d{4})-(\d{4,6})")


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


def reference_reserve(reference: str) -> None:
    """A grant given its reference from elsewhere (the importer): the year's counter is
    raised to its number, so that no later first submission is given it again."""
    match = REFERENCE_PATTERN.fullmatch(reference)
    if match is None:
        return
    year, number = int(match.group(1)), int(match.group(2))
    raised = ReferenceCounter.objects.filter(year=year, last_number__lt=number).update(
        last_number=number
    )
    if not raised:
        ReferenceCounter.objects.get_or_create(year=year, defaults={"last_number": number})
