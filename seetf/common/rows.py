"""A serializer's representation, read as rows: the same JSON, built from ``.values()``.

The lists read far more often than anything is written (the grant list and detail, the
knowledge hub) cost several times their queries when a ModelSerializer walks model
instances and their prefetched managers. ``RowRepresentation(SomeSerializer)`` gives
the same JSON from plain rows, and takes everything from the serializer's declaration,
walked once at first use, so that no second list of fields is kept by hand:

- a field on a model column (``source`` "title", "sector", "grant.reference") is a
  column of ``.values()`` ("title", "sector_id", "grant__reference"), written as the
  field writes it: a DecimalField as a string with its ``decimal_places``, a
  DateTimeField in DRF's format (``seetf.common.timestamps``), a DateField ISO 8601,
  the fields that write a column as it is (CharField, IntegerField, ChoiceField, ...)
  as it is, and any other field through its own ``to_representation``;
- a many-related field (``PrimaryKeyRelatedField`` or ``SlugRelatedField``,
  ``many=True``) is the relation's keys, read for the whole page in one statement, in
  the order of the related model's ``Meta.ordering``, as its prefetch gives them;
- what the declaration cannot say (a SerializerMethodField, a property, a nested
  serializer) is declared beside it: ``Related`` (the keys of a many-to-many relation,
  possibly of a related row) or ``Computed`` (columns and a function of the row).
  Without a declaration such a field is an ImproperlyConfigured error, never missing.

So a field added to the serializer is in the rows with no other edit; tests/perf
compare both paths byte for byte.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.utils import timezone
from rest_framework import relations, serializers
from rest_framework.settings import api_settings

from .money import decimal_text
from .timestamps import api_date, api_timestamp, writes_iso_8601


@dataclass(frozen=True)
class Related:
    """A field giving the keys of a many-to-many relation: ``path`` from the row's model
    ("outcomes", or through foreign keys, "grant.recipient_countries"), ``value`` the
    related model's field given (its primary key when None)."""

    path: str
    value: str | None = None


@dataclass(frozen=True)
class Children:
    """A field giving the rows of a reverse foreign key (a grant's partner roles) as a
    list of dicts, read in the one statement that reads the relations: ``path`` the
    reverse accessor, ``columns`` {JSON key: (column of the child row, or
    "target.column" of the row a child's foreign key names, converter or None)}, and
    each row's list in the order of the child's Meta.ordering (or of its prefetch):
    ``order`` a key function sorting it in Python, or ``sort`` a text column (written as
    the columns are: "user.username") that the database sorts by, in its own collation
    as the prefetch's ORDER BY does. Values travel as text (NULL as an empty string
    before conversion)."""

    path: str
    columns: dict
    order: Callable[[dict], Any] | None = None
    sort: str | None = None


@dataclass(frozen=True)
class Computed:
    """A field computed from a row: the ``columns`` it reads (its own name among them
    when it writes its column otherwise than the field does), and ``compute(row)``."""

    columns: tuple[str, ...]
    compute: Callable[[dict], Any]


# Fields that write a value of their column's own type as it is (None is None for every
# field: DRF's Serializer.to_representation does not call a field for it). Exact types:
# a subclass may write otherwise (MultipleChoiceField, EmailField, ...) and goes through
# its own to_representation.
_AS_IT_IS = (
    serializers.IntegerField,
    serializers.BooleanField,
    serializers.ChoiceField,
    serializers.ReadOnlyField,
)
_TEXT_COLUMNS = (models.CharField, models.TextField)
_TIMESTAMP = object()  # A converter that needs the request's time zone.
# The column of a row's relations read with it (RowRepresentation.relations_column).
RELATIONS = "seetf_relations"


@dataclass(frozen=True)
class _Relation:
    name: str  # the row key and JSON field
    owner: str  # the row key holding the id the relation hangs from
    through: str
    owner_column: str
    value_sql: str
    sort_sql: str
    join_sql: str
    to_python: Callable | None  # the value read back from text, or None: it is text
    order: Callable | None = None  # sorts each owner's list (Children)


@dataclass(frozen=True)
class _Plan:
    columns: tuple[str, ...]
    relations: tuple[_Relation, ...]
    computed: tuple[tuple[str, Callable], ...]
    fields: tuple[tuple[str, str, Any], ...]  # (JSON name, row key, converter or None)


class RowRepresentation:
    """``serializer_class``'s representation from rows (see the module).

    ``model``: the rows' model, for a serializer that is not a ModelSerializer;
    ``declared``: {field name: Related | Computed} for what the declaration cannot say;
    ``page_by_ids``: read a page (a sliced queryset) by finding its ids first, in a
    subquery: the database orders and skips narrow (id, sort key) rows, then reads the
    wide rows of the page alone (ordering whole rows, long texts included, spilled deep
    pages of the grant list to disk).
    """

    def __init__(self, serializer_class, *, model=None, declared=None, page_by_ids=False):
        self.serializer_class = serializer_class
        self.model = model or serializer_class.Meta.model
        self.declared = dict(declared or {})
        self.page_by_ids = page_by_ids

    def __repr__(self):
        return f"RowRepresentation({self.serializer_class.__name__})"

    # --- Reading ---------------------------------------------------------------------

    def read(self, queryset, also: tuple[str, ...] = ()) -> list[dict]:
        """The rows of ``queryset`` (filtered, ordered, sliced as the caller wants): its
        columns (and ``also``, annotations of the queryset the caller reads back), then
        every relation of the page in one more query (none without any)."""
        plan = self._plan
        query = queryset.query
        if self.page_by_ids and (query.low_mark or query.high_mark is not None):
            if also:
                raise ImproperlyConfigured(f"{self!r}: page_by_ids reads no annotation.")
            page = queryset.values("pk")
            queryset = self.model._default_manager.filter(pk__in=page).order_by(*query.order_by)
        return self.complete(list(queryset.values(*plan.columns, *also)))

    @property
    def columns(self) -> tuple[str, ...]:
        """The ``.values()`` columns ``read`` reads (then ``complete`` completes them):
        for a caller reading them by a statement of its own (seetf.common.prepared)."""
        return self._plan.columns

    def relations_column(self):
        """On PostgreSQL, an expression giving a row's relations (its own, not those of
        a related row) in the statement that reads it, as the column ``RELATIONS``: for
        a caller reading one row by a statement of its own, which then needs no second
        query; ``complete`` reads them from it. None elsewhere (or with no relation)."""
        plan = self._plan
        pk = self.model._meta.pk
        if connection.vendor != "postgresql" or not plan.relations:
            return None
        if any(relation.owner != pk.attname for relation in plan.relations):
            raise ImproperlyConfigured(f"{self!r}: a relation of a related row.")
        q = connection.ops.quote_name
        owner = f"{q(self.model._meta.db_table)}.{q(pk.column)}"
        parts = [
            f"SELECT {relation.owner_column}, {kind}, {relation.value_sql}, {relation.sort_sql} "
            f"FROM {relation.through} r{relation.join_sql} "
            f"WHERE {relation.owner_column} = {owner}"
            for kind, relation in enumerate(self._plan.relations)
        ]
        # The statement _read_relations runs, for this row, in its order (ORDER BY 4, 3):
        # its rows as "kind<US>value".
        return RawSQL(
            f"ARRAY(SELECT CAST(u.k AS TEXT) || '{_SEPARATOR}' || u.v "
            f"FROM ({' UNION ALL '.join(parts)}) u(o, k, v, s) ORDER BY u.s, u.v)",
            [],
        )

    def complete(self, rows: list[dict]) -> list[dict]:
        """Rows of ``columns`` (and, if it was read, ``RELATIONS``) with their relations
        (one query, none without any, none when read) and their computed fields."""
        plan = self._plan
        if plan.relations and rows and RELATIONS in rows[0]:
            _relations_from_column(plan.relations, rows)
        elif plan.relations and rows:
            _read_relations(plan.relations, rows)
        for name, compute in plan.computed:
            for row in rows:
                row[name] = compute(row)
        return rows

    # --- Representing ------------------------------------------------------------------

    def represent(self, rows: list[dict]) -> list[dict]:
        """What the serializer gives for each of these rows (of ``read``)."""
        tz = timezone.get_current_timezone()

        def stamp(value):
            return api_timestamp(value, tz)

        fields = [
            (name, key, stamp if convert is _TIMESTAMP else convert)
            for name, key, convert in self._plan.fields
        ]
        out = []
        for row in rows:
            item = {}
            for name, key, convert in fields:
                value = row[key]
                item[name] = value if convert is None or value is None else convert(value)
            out.append(item)
        return out

    def represent_one(self, row: dict) -> dict:
        return self.represent([row])[0]

    def represent_pk(self, pk) -> dict:
        """What the serializer gives for the row of this primary key, read afresh (what
        a write answers)."""
        return self.represent(self.read(self.model._default_manager.filter(pk=pk)))[0]

    # --- The declaration, walked once ------------------------------------------------------

    @cached_property
    def _plan(self) -> _Plan:
        serializer = self.serializer_class()
        unknown = set(self.declared) - set(serializer.fields)
        if unknown:
            raise ImproperlyConfigured(f"{self!r} declares {sorted(unknown)}: no such fields.")
        columns, relations_, computed, fields = [], [], [], []

        def read_column(key):
            if key not in columns:
                columns.append(key)

        for name, field in serializer.fields.items():
            if field.write_only:
                continue
            where = f"{self.serializer_class.__name__}.{name}"
            spec = self.declared.get(name)
            if spec is None and isinstance(field, relations.ManyRelatedField):
                spec = _related_from_field(where, field)
            if isinstance(spec, Children):
                relation = _children(where, self.model, name, spec)
                read_column(relation.owner)
                relations_.append(relation)
                fields.append((name, name, None))
            elif isinstance(spec, Related):
                relation = _relation(where, self.model, name, spec)
                read_column(relation.owner)
                relations_.append(relation)
                fields.append((name, name, None))
            elif isinstance(spec, Computed):
                for key in spec.columns:
                    read_column(key)
                computed.append((name, spec.compute))
                fields.append((name, name, None))
            elif spec is not None:
                raise ImproperlyConfigured(f"{where}: declare it as Related or Computed.")
            else:
                key, model_field = _source_column(where, self.model, field)
                read_column(key)
                fields.append((name, key, _converter(field, model_field)))
        added = {relation.name for relation in relations_}
        if added & set(columns):
            raise ImproperlyConfigured(
                f"{self.serializer_class.__name__}: {sorted(added & set(columns))} would be "
                "both a column read and a relation read."
            )
        # A field computed from the column of its own name (a window's region, "" written
        # as None) keeps its value under a key of its own: the column stays as it was read.
        renamed = {name: f"{name} (computed)" for name, _ in computed if name in columns}
        computed = [(renamed.get(name, name), compute) for name, compute in computed]
        fields = [(name, renamed.get(name, key), convert) for name, key, convert in fields]
        return _Plan(tuple(columns), tuple(relations_), tuple(computed), tuple(fields))


def _related_from_field(where: str, field) -> Related:
    child = field.child_relation
    if type(child) is relations.SlugRelatedField:
        return Related(field.source, child.slug_field)
    if _writes_pk(child):
        return Related(field.source)
    raise ImproperlyConfigured(f"{where}: a {type(child).__name__}; declare it as Related.")


def _writes_pk(field) -> bool:
    """Whether a relation field writes the related object's primary key as it is."""
    return type(field) is relations.PrimaryKeyRelatedField and field.pk_field is None


def _source_column(where: str, model, field) -> tuple[str, models.Field]:
    """The ``.values()`` column of a field's source, and its model field."""
    if field.source == "*" or isinstance(field, serializers.BaseSerializer):
        raise ImproperlyConfigured(f"{where}: a nested serializer; declare it as Computed.")
    if isinstance(field, serializers.SerializerMethodField):
        raise ImproperlyConfigured(f"{where}: a method field; declare it as Related or Computed.")
    parts = field.source.split(".")
    path = []
    for i, part in enumerate(parts):
        try:
            model_field = model._meta.get_field(part)
        except FieldDoesNotExist:
            raise ImproperlyConfigured(
                f"{where}: {field.source!r} is not a column of {model.__name__}; declare it "
                "as Computed."
            ) from None
        last = i == len(parts) - 1
        if not model_field.concrete or model_field.many_to_many:
            raise ImproperlyConfigured(
                f"{where}: {part!r} is not a column; declare it as Related or Computed."
            )
        if last:
            if model_field.is_relation and part != model_field.attname:
                # The related object itself: only its primary key reads as the column does.
                if not _writes_pk(field):
                    raise ImproperlyConfigured(f"{where}: an object; declare it as Computed.")
            path.append(model_field.attname)
            return "__".join(path), model_field
        if not model_field.is_relation or model_field.null:
            # Through a nullable key DRF would leave the field out (read-only) or fail.
            raise ImproperlyConfigured(
                f"{where}: {part!r} is not a required foreign key; declare it as Computed."
            )
        path.append(part)
        model = model_field.related_model
    raise AssertionError("unreachable")


def _converter(field, model_field):
    """How the field writes a non-null value of its column: None when as it is."""
    column = model_field.target_field if model_field.is_relation else model_field
    kind = type(field)
    if kind is serializers.DecimalField:
        coerce = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
        plain = not (field.localize or field.normalize_output or field.rounding)
        if coerce and plain and field.decimal_places is not None:
            return decimal_text(field.decimal_places)
    elif kind is serializers.DateTimeField:
        if writes_iso_8601(field):
            return _TIMESTAMP
    elif kind is serializers.DateField:
        if writes_iso_8601(field):
            return api_date
    elif kind in _AS_IT_IS:
        return None
    elif kind is serializers.BigIntegerField:
        if not getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING):
            return None
    elif kind is serializers.CharField and isinstance(column, _TEXT_COLUMNS):
        return None
    elif _writes_pk(field):
        return None
    elif kind is serializers.JSONField and not field.binary:
        return None
    elif kind is serializers.ListField and type(field.child) in _AS_IT_IS:
        return list
    return field.to_representation


def _relation(where: str, model, name: str, spec: Related) -> _Relation:
    """How to read one relation: from the row's model (or a row it has a required
    foreign key to) to a many-to-many field, then the related model."""
    *steps, last = spec.path.split(".")
    owner = model._meta.pk.attname
    path = []
    for step in steps:
        key = model._meta.get_field(step)
        if not (key.many_to_one or key.one_to_one) or not key.concrete or key.null:
            raise ImproperlyConfigured(f"{where}: {step!r} is not a required foreign key.")
        owner = "__".join([*path, key.attname])
        path.append(step)
        model = key.related_model
    field = model._meta.get_field(last)
    if not field.many_to_many or not field.concrete:
        raise ImproperlyConfigured(f"{where}: {spec.path!r} is not a many-to-many field.")
    target = field.related_model
    q = connection.ops.quote_name
    target_column = f"r.{q(field.m2m_reverse_name())}"
    value_field = target._meta.get_field(spec.value) if spec.value else target._meta.pk
    join = not value_field.primary_key
    value_sql = f"t.{q(value_field.column)}" if join else target_column
    to_python = None
    if not isinstance(value_field, _TEXT_COLUMNS):
        # One statement reads every relation (UNION ALL): their values meet as text.
        value_sql, to_python = f"CAST({value_sql} AS TEXT)", value_field.to_python
    sort_sql = value_sql
    if target._meta.ordering:
        sort_field = _sort_field(where, target)
        if sort_field.primary_key:
            sort_sql = target_column
        else:
            sort_sql, join = f"t.{q(sort_field.column)}", True
    join_sql = ""
    if join:
        join_sql = (
            f" JOIN {q(target._meta.db_table)} t ON t.{q(target._meta.pk.column)} = {target_column}"
        )
    return _Relation(
        name=name,
        owner=owner,
        through=q(field.remote_field.through._meta.db_table),
        owner_column=f"r.{q(field.m2m_column_name())}",
        value_sql=value_sql,
        sort_sql=sort_sql,
        join_sql=join_sql,
        to_python=to_python,
    )


_SEPARATOR = "\x1f"  # the unit separator: between the columns of a child's text


def _children(where: str, model, name: str, spec: Children) -> _Relation:
    """How to read a reverse foreign key's rows: each child's columns joined as one text
    (in the relations' statement), split and converted back in Python."""
    try:
        remote = model._meta.get_field(spec.path)
    except FieldDoesNotExist:
        raise ImproperlyConfigured(f"{where}: {spec.path!r} is not a relation.") from None
    if not remote.one_to_many:
        raise ImproperlyConfigured(f"{where}: {spec.path!r} is not a reverse foreign key.")
    child = remote.related_model
    key = remote.field
    q = connection.ops.quote_name
    if (spec.order is None) == (spec.sort is None):
        raise ImproperlyConfigured(f"{where}: give the children's order, or their sort column.")
    joins = {}

    def column_sql(column):
        if "." not in column:
            return f"r.{q(child._meta.get_field(column).column)}"
        fk_name, target_name = column.split(".")
        fk = child._meta.get_field(fk_name)
        target = fk.related_model
        alias = f"t{len(joins)}" if fk_name not in joins else joins[fk_name][0]
        joins.setdefault(
            fk_name,
            (
                alias,
                f" JOIN {q(target._meta.db_table)} {alias} ON {alias}."
                f"{q(fk.target_field.column)} = r.{q(fk.column)}",
            ),
        )
        return f"{alias}.{q(target._meta.get_field(target_name).column)}"

    parts = [
        f"COALESCE(CAST({column_sql(column)} AS TEXT), '')"
        for column, _convert in spec.columns.values()
    ]
    value_sql = f" || '{_SEPARATOR}' || ".join(parts)
    sort_sql = value_sql if spec.sort is None else f"CAST({column_sql(spec.sort)} AS TEXT)"
    converters = [(json_key, convert) for json_key, (_c, convert) in spec.columns.items()]

    def to_python(text):
        values = text.split(_SEPARATOR)
        return {
            json_key: (None if value == "" else (convert(value) if convert else value))
            for (json_key, convert), value in zip(converters, values, strict=True)
        }

    return _Relation(
        name=name,
        owner=model._meta.pk.attname,
        through=q(child._meta.db_table),
        owner_column=f"r.{q(key.column)}",
        value_sql=value_sql,
        sort_sql=sort_sql,
        join_sql="".join(join for _alias, join in joins.values()),
        to_python=to_python,
        order=spec.order,
    )


def _sort_field(where: str, target) -> models.Field:
    """The related model's ordering, which its prefetch follows: one text column, so
    that the relations of one statement sort alike (a name, a code)."""
    ordering = list(target._meta.ordering)
    name = ordering[0]
    if len(ordering) > 1 or not isinstance(name, str) or name.startswith("-") or "__" in name:
        raise ImproperlyConfigured(
            f"{where}: {target.__name__} is ordered by {ordering}; rows read a relation in "
            "the order of one ascending text column."
        )
    field = target._meta.get_field(name)
    if not isinstance(field, _TEXT_COLUMNS):
        raise ImproperlyConfigured(f"{where}: {target.__name__}.{name} is not a text column.")
    return field


def _relations_from_column(relations_: tuple[_Relation, ...], rows: list[dict]) -> None:
    """The relations of each row from its ``RELATIONS`` column (``relations_column``),
    as ``_read_relations`` gives them."""
    for row in rows:
        found = [[] for _ in relations_]
        for text in row.pop(RELATIONS):
            kind, value = text.split(_SEPARATOR, 1)
            to_python = relations_[int(kind)].to_python
            found[int(kind)].append(value if to_python is None else to_python(value))
        for relation, values in zip(relations_, found, strict=True):
            row[relation.name] = sorted(values, key=relation.order) if relation.order else values


def _read_relations(relations_: tuple[_Relation, ...], rows: list[dict]) -> None:
    """Every relation of these rows in one statement: (owner id, relation, value, sort
    key), sorted by the key, then the value (should two keys tie). Written as SQL: a
    union of querysets cost more to compose than to run."""
    parts, params, lists = [], [], []
    for kind, relation in enumerate(relations_):
        owners = list(dict.fromkeys(row[relation.owner] for row in rows))
        lists.append({owner: [] for owner in owners})
        marks = ", ".join(["%s"] * len(owners))
        parts.append(
            f"SELECT {relation.owner_column}, {kind}, {relation.value_sql}, {relation.sort_sql} "
            f"FROM {relation.through} r{relation.join_sql} "
            f"WHERE {relation.owner_column} IN ({marks})"
        )
        params += owners
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 4, 3", params)
        for owner, kind, value, _sort_key in cursor.fetchall():
            to_python = relations_[kind].to_python
            lists[kind][owner].append(value if to_python is None else to_python(value))
    for kind, relation in enumerate(relations_):
        found = lists[kind]
        for row in rows:
            values = found[row[relation.owner]]
            row[relation.name] = sorted(values, key=relation.order) if relation.order else values
