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
from django.template import loader
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import OrderingFilter

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
    names: the API's filter backend (REST_FRAMEWORK's DEFAULT_FILTER_BACKENDS). A
    FilterSet deep-copies every filter and builds a form field for each on every
    request; a filter whose parameter is absent filters nothing and refuses nothing
    (none of the project's is required: such a one is always kept), so the answer is
    the same, and a search (one filter of eight) is spared the rest. A filter is named
    by its parameter or by one with a suffix (``x_min``, ``x_after`` of range filters).
    A request that names none (a list as it is, the most asked for) builds no FilterSet
    at all. The browsable API's filter form still shows every filter."""

    def get_filterset(self, request, queryset, view):
        filterset_class = self._named_filterset_class(request, view, queryset)
        if filterset_class is None:
            return None
        return filterset_class(**self.get_filterset_kwargs(request, queryset, view))

    def filter_queryset(self, request, queryset, view):
        filterset_class = self._named_filterset_class(request, view, queryset)
        if filterset_class is None or not filterset_class.base_filters:
            return queryset  # No filter named: nothing to filter, nothing to refuse.
        return super().filter_queryset(request, queryset, view)

    def _named_filterset_class(self, request, view, queryset):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return None
        params = request.query_params
        names = frozenset(name for name in filterset_class.base_filters if _named(name, params))
        return _with_filters(filterset_class, names)

    def to_html(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        template = loader.get_template(self.template)
        return template.render({"filter": filterset}, request)


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


class IdLastOrderingFilter(OrderingFilter):
    """DRF's ``?ordering=``, with the row's id as the last key: rows that tie on the
    chosen field keep one order from page to page (and a page read one row longer,
    ``seetf.common.pagination.Rows``, begins with the same rows as the page alone)."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(name.lstrip("-") in ("id", "pk") for name in ordering):
            ordering = [*ordering, "-id" if ordering[-1].startswith("-") else "id"]
        return ordering
