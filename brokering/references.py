"""Offer and request references: OFR-YYYY-NNNN and REQ-YYYY-NNNN, given by the
services on creation (the year of the creation), unique; the portfolio workbook's
natural keys for offers and requests (``portability``)."""

import re

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import BrokeringCounter

OFFER_PREFIX, REQUEST_PREFIX = "OFR", "REQ"
REFERENCE_PATTERN = re.compile(r"(OFR|REQ)-(\d{4})-(\d{4,6})")


def _highest(model, prefix: str, year: int) -> int:
    """The highest number given in the year to rows written outside the services."""
    numbers = [0]
    for reference in model.objects.filter(reference__startswith=f"{prefix}-{year}-").values_list(
        "reference", flat=True
    ):
        match = REFERENCE_PATTERN.fullmatch(reference)
        if match:
            numbers.append(int(match.group(3)))
    return max(numbers)


def next_reference(model, prefix: str, year: int) -> str:
    """The year's next reference, from its counter under its row lock (as the grants'
    ``next_grant_reference``): no number is given twice."""
    try:
        with transaction.atomic():
            BrokeringCounter.objects.get_or_create(
                prefix=prefix,
                year=year,
                defaults={"last_number": _highest(model, prefix, year)},
            )
    except IntegrityError:
        pass  # Another creation made this year's counter at the same moment.
    counter = BrokeringCounter.objects.select_for_update().get(prefix=prefix, year=year)
    counter.last_number = F("last_number") + 1
    counter.save(update_fields=["last_number"])
    counter.refresh_from_db(fields=["last_number"])
    return f"{prefix}-{year}-{counter.last_number:04d}"


def references_reserve(references) -> None:
    """References given from elsewhere (the importer): each year's counter is raised to
    the highest number, so no later creation is given one of them again."""
    highest: dict[tuple[str, int], int] = {}
    for reference in references:
        match = REFERENCE_PATTERN.fullmatch(reference or "")
        if match is None:
            continue
        key = (match.group(1), int(match.group(2)))
        highest[key] = max(highest.get(key, 0), int(match.group(3)))
    for (prefix, year), number in highest.items():
        raised = BrokeringCounter.objects.filter(
            prefix=prefix, year=year, last_number__lt=number
        ).update(last_number=number)
        if not raised:
            BrokeringCounter.objects.get_or_create(
                prefix=prefix, year=year, defaults={"last_number": number}
            )
