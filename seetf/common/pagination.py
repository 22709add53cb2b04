import re

from django.core.paginator import EmptyPage, Paginator
from django.db.models import Count, Window
from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
# The column of a page's rows giving the number of rows of the whole list
# (``Rows(..., counted_in_page=True)``).
PAGE_COUNT = "seetf_page_count"


class _Paginator(Paginator):
    """Django's paginator, which reads a page of ``Rows(..., counted_in_page=True)``
    and the list's count in one statement: no count query, and a page past the last
    (an empty page but the first) is Django's EmptyPage without counting either."""

    def page(self, number):
        rows = self.object_list
        if not getattr(rows, "counted_in_page", False):
            return super().page(number)
        number = int(number)
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        bottom = (number - 1) * self.per_page
        found, count = rows.page_and_count(bottom, bottom + self.per_page)
        if count is None:
            if number > 1:
                raise EmptyPage(self.error_messages["no_results"])
            count = 0
        self.__dict__["count"] = count  # Paginator.count is a cached_property.
        return self._get_page(found, number, self)


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`, 50 by default, at most 500 (API.md Conventions).

    Both are checked, not guessed at: a `page` that is not a whole number from 1, or a
    `page_size` that is not one from 1 to 500, is a 400 naming the parameter (DRF would
    quietly use the default size, or answer 404); a page past the last is DRF's 404
    `Invalid page.` (the first page of an empty list is an empty page, 200)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()
    django_paginator_class = _Paginator

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = _whole_number(raw)
        if size is None or not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("A whole number from 1 to %(max_page_size)s.")
                        % {"max_page_size": self.max_page_size}
                    ]
                }
            )
        return size

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        number = _whole_number(raw)
        if number is None or number < 1:
            raise ValidationError({self.page_query_param: [_("A whole number from 1.")]})
        return number

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    "The page, from 1. Not a whole number from 1: 400; past the last: 404."
                )
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
                parameter["description"] = (
                    f"Rows a page, 1 to {self.max_page_size} ({self.page_size} when not "
                    "given); anything else: 400."
                )
        return parameters


def _whole_number(raw: str) -> int | None:
    return int(raw) if WHOLE_NUMBER.fullmatch(raw) else None


class Rows:
    """A queryset seen as rows, for Django's paginator: it counts the queryset and reads
    only the slice of the page asked for, with ``read`` (e.g. ``grants.api.serializers.
    grant_rows``, ``RowRepresentation.read`` of seetf.common.rows: plain rows, not model
    instances).

    ``counted_in_page``: the page is read with the list's count in one statement
    (``COUNT(*) OVER ()``, the database counting the rows it filtered and ordered for
    the page anyway): one query fewer, and the same number whatever the list's length
    (a person's notifications, the funding windows, a search's matches). ``read`` then
    takes ``also``, the annotations to read back (``RowRepresentation.read``). A list
    of DISTINCT rows is counted apart: its window would count the rows before DISTINCT.
    Not for a list the database counts on its indexes but pages by another
    (the offers search: its words' trigram indexes count the matches in 8 ms at 100,000
    offers, where the window made the planner walk the primary key for the page's order,
    60 ms).

    ``counted``: a function giving the number of rows without counting the queryset
    when it is known otherwise (a count the database keeps, or reads on an index), or
    None when it is not: then the queryset is counted."""

    ordered = True

    def __init__(self, queryset, read, *, counted_in_page=False, counted=None):
        self.queryset = queryset
        self.read = read
        self.counted_in_page = counted_in_page and not queryset.query.distinct
        self.counted = counted

    def count(self) -> int:
        if self.counted is not None:
            known = self.counted()
            if known is not None:
                return known
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice):
            raise TypeError("Rows are read in slices (pages).")
        return self.read(self.queryset[item])

    def page_and_count(self, start: int, stop: int) -> tuple[list, int | None]:
        """The rows from ``start`` to ``stop`` and the number of rows of the whole list,
        read in one statement; the count is None when the page is empty (it cannot be
        read from no row: an empty first page is an empty list)."""
        counted = self.queryset.annotate(**{PAGE_COUNT: Window(Count("*"))})
        rows = self.read(counted[start:stop], also=(PAGE_COUNT,))
        count = rows[0][PAGE_COUNT] if rows else None
        for row in rows:
            del row[PAGE_COUNT]
        return rows, count
