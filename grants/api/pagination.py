"""The grant list's pagination: page numbers (the contract) and keyset cursors (deep pages).

``?page=N&page_size=M`` works as on every list. ``?cursor=`` switches to keyset
pagination: the first page is ``?cursor=`` (empty), and ``next``/``previous`` are links
with an opaque cursor that names the position of the last (or first) grant of the page
in the list's ordering. A deep page then costs what the first one does: the database
seeks to the position through the ordering's index instead of counting off (OFFSET)
every grant before it. The body keeps its shape, ``{count, next, previous, results}``.

In cursor mode grants without a value for the ordering field (a grant never submitted
has no ``submitted_at``) come last, whichever the direction; grants that tie are
ordered by id. A cursor is valid for the ordering it was made for: with another, or
malformed, it is a 404 ``Invalid cursor.``, as in DRF's own CursorPagination.
"""

import base64
import binascii
import json
from datetime import UTC, datetime
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection
from django.db.models import F, Q
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from seetf.common.pagination import PageNumberPagination

from ..models import Grant
from .serializers import grant_rows

INVALID_CURSOR = "Invalid cursor."


def _encode_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def encode_cursor(ordering: list[str], row: dict, reverse: bool) -> str:
    """The position of ``row`` in ``ordering``, going forward (or back, ``reverse``)."""
    values = [_encode_value(row[_column(name)]) for name in ordering]
    payload = json.dumps({"o": ordering, "v": values, "r": int(reverse)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(token: str, ordering: list[str]) -> tuple[list, bool]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if payload["o"] != ordering or len(payload["v"]) != len(ordering):
            raise ValueError("another ordering")
        # clean(), not only to_python(): a value the column cannot hold (a decimal with
        # too many digits, an id out of range, NaN) is an invalid cursor, not a 500.
        values = [
            None if value is None else _field(name).clean(value, None)
            for name, value in zip(ordering, payload["v"], strict=True)
        ]
        if any(isinstance(v, Decimal) and not v.is_finite() for v in values):
            raise ValueError("not a number")
        return values, bool(payload["r"])
    except (ValueError, TypeError, KeyError, ValidationError, binascii.Error, AttributeError):
        raise NotFound(INVALID_CURSOR) from None


def _column(name: str) -> str:
    name = name.lstrip("-")
    return "id" if name == "pk" else name


def _field(name: str):
    try:
        return Grant._meta.get_field(_column(name))
    except FieldDoesNotExist:
        raise ValueError(name) from None


def _keyset_order(ordering: list[str], reverse: bool) -> list:
    """ORDER BY for a keyset walk: nullable columns with their NULLs last going forward
    (first going back); the others plain, so the database can follow their index."""
    out = []
    for name in ordering:
        descending = name.startswith("-") != reverse
        column = F(_column(name))
        if _field(name).null:
            nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
            out.append(column.desc(**nulls) if descending else column.asc(**nulls))
        else:
            out.append(column.desc() if descending else column.asc())
    return out


def _beyond(ordering: list[str], values: list, reverse: bool) -> Q:
    """The grants after ``values`` in ``ordering`` (before it when ``reverse``)."""
    condition = Q(pk__in=[])
    equal = Q()
    for name, value in zip(ordering, values, strict=True):
        column, nullable = _column(name), _field(name).null
        descending = name.startswith("-") != reverse
        nulls_last = not reverse
        if value is None:
            beyond = None if nulls_last else Q(**{f"{column}__isnull": False})
        else:
            beyond = Q(**{f"{column}__{'lt' if descending else 'gt'}": value})
            if nullable and nulls_last:
                beyond |= Q(**{f"{column}__isnull": True})
        if beyond is not None:
            condition |= equal & beyond
        equal &= Q(**{f"{column}__isnull": True}) if value is None else Q(**{column: value})
    first, value = ordering[0], values[0]
    if value is not None and not _field(first).null:
        # Implied by the condition; said outright, it lets the index on the first column
        # start the scan at the cursor (an OR alone would not).
        descending = first.startswith("-") != reverse
        condition &= Q(**{f"{_column(first)}__{'lte' if descending else 'gte'}": value})
    return condition


def _keyset_rows(grants, ordering: list[str], values: list | None, reverse: bool, limit: int):
    """The first ``limit`` rows of ``grants`` after the position ``values`` (from the
    start with none), in the keyset order.

    When the first column may be NULL and the position has a value, the rows with a
    value are read apart from those without: bounded by the position (``col <= value``,
    which leaves the NULLs out) and ordered as the plain index on the column runs, so the
    database seeks to the position instead of reading every grant and sorting them. The
    NULLs come last going forward (never going back): there they are a second branch of
    the same statement (``UNION ALL`` of the two parts, each ordered and limited), so
    every page runs the same queries. Where a compound statement cannot order and limit
    its parts (SQLite: the embedded demo, whose lists are small), one condition reads
    both, as before."""
    first = ordering[0]
    if values is None:
        page = grants.order_by(*_keyset_order(ordering, reverse))
        return grant_rows(page[:limit])
    beyond = grants.filter(_beyond(ordering, values, reverse))
    split = connection.features.supports_slicing_ordering_in_compound  # not SQLite
    if values[0] is None or not _field(first).null or not split:
        return grant_rows(beyond.order_by(*_keyset_order(ordering, reverse))[:limit])
    column = _column(first)
    descending = first.startswith("-") != reverse
    with_value = beyond.filter(**{f"{column}__{'lte' if descending else 'gte'}": values[0]})
    plain = [
        F(_column(name)).desc() if name.startswith("-") != reverse else F(_column(name)).asc()
        for name in ordering
    ]
    if reverse:  # going back, no NULL comes before a value
        return grant_rows(with_value.order_by(*plain)[:limit])
    without = grants.filter(**{f"{column}__isnull": True})
    either = (
        with_value.order_by(*plain)
        .values("pk")[:limit]
        .union(without.order_by(*_keyset_order(ordering, reverse)).values("pk")[:limit], all=True)
    )
    page = Grant.objects.filter(pk__in=either).order_by(*_keyset_order(ordering, reverse))
    return grant_rows(page[:limit])


class GrantPagination(PageNumberPagination):
    """Page numbers, as every list; keyset cursors with ``?cursor=`` (see the module)."""

    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        """``queryset`` is a ``GrantRows`` (grants.api.serializers): pages are lists of rows."""
        self.cursor_mode = self.cursor_query_param in request.query_params
        if not self.cursor_mode:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        size = self.get_page_size(request)
        grants = queryset.queryset
        ordering = [name for name in grants.query.order_by if isinstance(name, str)] or list(
            Grant._meta.ordering
        )
        token = request.query_params[self.cursor_query_param]
        self.count = queryset.count()
        reverse = False
        values = None
        if token:
            values, reverse = decode_cursor(token, ordering)
        rows = _keyset_rows(grants, ordering, values, reverse, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        url = remove_query_param(request.build_absolute_uri(), self.page_query_param)
        self.next_link = self.previous_link = None
        if rows and (reverse or more):
            cursor = encode_cursor(ordering, rows[-1], reverse=False)
            self.next_link = replace_query_param(url, self.cursor_query_param, cursor)
        if rows and ((reverse and more) or (not reverse and token)):
            cursor = encode_cursor(ordering, rows[0], reverse=True)
            self.previous_link = replace_query_param(url, self.cursor_query_param, cursor)
        return rows

    def get_paginated_response(self, data):
        if not self.cursor_mode:
            return super().get_paginated_response(data)
        return Response(
            {
                "count": self.count,
                "next": self.next_link,
                "previous": self.previous_link,
                "results": data,
            }
        )

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "Keyset pagination, for deep pages: `?cursor=` (empty) for the first "
                    "page, then follow `next` and `previous`, whose cursors hold the "
                    "position in the list's ordering. `page` is then ignored; the body "
                    "keeps its shape. Grants without a value for the ordering field come "
                    "last; ties are ordered by id. A cursor made for another ordering: "
                    "404 `Invalid cursor.`"
                ),
                "schema": {"type": "string"},
            },
        ]
