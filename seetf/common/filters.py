"""Filters shared by the API's FilterSets.

``MomentFilter`` and ``IsoMomentFilter``: a date-time query parameter (``since``,
``until``) that the database can always compare. Python accepts a UTC offset of up to
24 hours and years 1 to 9999; PostgreSQL refuses an offset beyond 15:59 ("time zone
displacement out of range", a 500 the fuzzer found), and converting year 1 with a
negative offset to UTC overflows. Real time zones lie within 14 hours of UTC: beyond
that, or out of range once in UTC, the parameter is a 400 naming it.
"""

from datetime import UTC, timedelta
from functools import lru_cache

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend

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


class NamedFiltersBackend(DjangoFilterBackend):
    """django-filter's backend, building the FilterSet with only the filters the request
    names. A FilterSet deep-copies every filter and builds a form field for each on
    every request; a filter whose parameter is absent filters nothing and refuses
    nothing (none of the project's is required: such a one is always kept), so the
    answer is the same, and the knowledge hub's search (one filter of eight) is spared
    the rest. A filter is named by its parameter or by one with a suffix (``x_min``,
    ``x_after`` of range filters)."""

    def get_filterset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return None
        params = request.query_params
        names = frozenset(name for name in filterset_class.base_filters if _named(name, params))
        kwargs = self.get_filterset_kwargs(request, queryset, view)
        return _with_filters(filterset_class, names)(**kwargs)


def _named(name: str, params) -> bool:
    prefix = name + "_"
    return any(key == name or key.startswith(prefix) for key in params)


@lru_cache(maxsize=512)
def _with_filters(filterset_class, names: frozenset):
    kept = {
        name: f
        for name, f in filterset_class.base_filters.items()
        if name in names or f.extra.get("required")
    }
    if len(kept) == len(filterset_class.base_filters):
        return filterset_class
    module = {"__module__": filterset_class.__module__}
    subclass = type(filterset_class.__name__, (filterset_class,), module)
    subclass.base_filters = kept
    return subclass
