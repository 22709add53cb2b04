"""Dates and times as the API writes them, for code that builds JSON without DRF's fields
(the rows of ``seetf.common.rows``): exactly what DRF's DateTimeField and DateField give
under the API's settings (``REST_FRAMEWORK["DATETIME_FORMAT"] = "iso-8601"``)."""

from django.utils import timezone
from rest_framework import serializers
from rest_framework.settings import ISO_8601, api_settings


def api_timestamp(value, tz) -> str | None:
    """A datetime in the time zone ``tz`` (the request's current one), ISO 8601, with UTC
    written "Z" as DRF writes it: "2026-06-01T08:30:00Z", "2026-06-01T14:00:00+05:30"."""
    if not value:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def fund_date(moment, zone=None):
    """A time's date in the fund's time zone (``zone``, or TIME_ZONE's; never a user's),
    or None: the date a grant keeps of a move or a report, and a cycle step's day."""
    if moment is None:
        return None
    return moment.astimezone(zone or timezone.get_default_timezone()).date()


def api_date(value) -> str | None:
    """A date, ISO 8601: "2026-06-01"."""
    return value.isoformat() if value else None


def writes_iso_8601(field) -> bool:
    """Whether a DRF DateTimeField or DateField writes ISO 8601 as the two functions above
    do: no format of its own but the API's, and (a DateTimeField) no time zone of its own."""
    timestamp = isinstance(field, serializers.DateTimeField)
    default = api_settings.DATETIME_FORMAT if timestamp else api_settings.DATE_FORMAT
    output_format = getattr(field, "format", default)
    return (
        isinstance(output_format, str)
        and output_format.lower() == ISO_8601
        and not hasattr(field, "timezone")
    )
