from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`, 50 by default, at most 500 (API.md Conventions)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class Rows:
    """A queryset seen as rows, for Django's paginator: it counts the queryset and reads
    only the slice of the page asked for, with ``read`` (e.g. ``grants.api.serializers.
    grant_rows``, ``RowRepresentation.read`` of seetf.common.rows: plain rows, not model
    instances)."""

    ordered = True

    def __init__(self, queryset, read):
        self.queryset = queryset
        self.read = read

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice):
            raise TypeError("Rows are read in slices (pages).")
        return self.read(self.queryset[item])
