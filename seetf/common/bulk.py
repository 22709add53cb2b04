"""Plain rows into a table, for the services' bulk paths (the importer's thousands of
grants): one multi-row INSERT per batch, without building a model instance per row.

``bulk_create`` spends most of its time, for tables of a few columns, constructing the
instances and preparing each of their values; rows whose values are the columns' own
(keys, text, dates; datetimes and the like adapted here by their field, once each)
need none of that. Only for rows the calling service has checked by its rules: nothing
here validates. The statements are the ones ``bulk_create`` sends (the table's triggers
and constraints apply), counted and logged as every other query.
"""

from collections.abc import Iterable, Sequence

from django.db import connection, models

# Fields whose Python values the database driver takes as they are.
_AS_IS = (
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.ForeignKey,
)


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """INSERT ``rows`` (tuples of values, in the order of ``columns``, fields' names:
    ``grant_id``, ``country_id``, ``at``...) into ``model``'s table. Returns how many."""
    fields = [model._meta.get_field(name) for name in columns]
    adapt = [
        None
        if isinstance(f, _AS_IS)
        else (lambda value, f=f: f.get_db_prep_save(value, connection))
        for f in fields
    ]
    if all(a is None for a in adapt):
        prepared = rows
    else:
        prepared = (
            tuple(v if a is None else a(v) for v, a in zip(row, adapt, strict=True)) for row in rows
        )
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    names = ", ".join(ops.quote_name(f.column) for f in fields)
    batch = max(1, min(5000, ops.bulk_batch_size(fields, [None] * 5000)))
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    count = 0
    with connection.cursor() as cursor:
        chunk: list = []
        for row in prepared:
            chunk.append(row)
            if len(chunk) == batch:
                count += _insert(cursor, table, names, one, chunk)
                chunk = []
        if chunk:
            count += _insert(cursor, table, names, one, chunk)
    return count


def _insert(cursor, table: str, names: str, one: str, chunk: list) -> int:
    values = ", ".join([one] * len(chunk))
    cursor.execute(
        f"INSERT INTO {table} ({names}) VALUES {values}",  # noqa: S608 (names quoted)
        [value for row in chunk for value in row],
    )
    return len(chunk)
