"""Filters shared by the API's FilterSets.

``MomentFilter`` and ``IsoMomentFilter``: a date-time query parameter (``since``,
``until``) that the database can always compare. Python accepts a UTC offset of up to
24 hours and years 1 to 9999; PostgreSQL refuses an offset beyond 15:59 ("time zone
displacement out of range", a 500 the fuzzer found), and converting year 1 with a
negative offset to UTC overflows. Real time zones lie within 14 hours of UTC: beyond
that, or out of range once in UTC, the parameter is a 400 naming it.
"""

from datetime import UTC, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_OFFSET = timedelta(hours=14)


def _checked(moment):
    if moment is None:
        return moment
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise ValidationError(_("A time zone is at most 14 hours from UTC."), code="invalid")
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationError(_("The time is out of range."), code="invalid") from exc
    return moment


class MomentField(forms.DateTimeField):
    def to_python(self, value):
        return _checked(super().to_python(value))


class IsoMomentField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value):
        return _checked(super().to_python(value))


class MomentFilter(django_filters.DateTimeFilter):
    """A date or date-time (``DateTimeFilter``) within the database's range."""

    field_class = MomentField


class IsoMomentFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time (``IsoDateTimeFilter``) within the database's range."""

    field_class = IsoMomentField
