"""A statement the ORM builds and compiles once per database, run again with new values.

Building and compiling a queryset costs Python far more than the database takes to run a
one-row statement: the API's token lookup (read on every request) and the fund summary
spent most of their time in the ORM. ``Prepared(build, "key")`` calls ``build(key=marker)``
once per database alias, compiles it, and then runs the compiled SQL with the marker's
place in its parameters taken by the value given to ``rows(key=...)``: the same SQL, the
same converters, the same instances (``select_related`` and annotations included) or
dicts (``.values()``) as the queryset gives. Only PostgreSQL: elsewhere ``rows`` runs
``build`` as a plain queryset (tests/perf/test_prepared.py compares both).

A value may only be compared for equality (``filter(key=value)``): a lookup that
rewrites its value (``icontains``) would hide the marker, an ImproperlyConfigured error.
A value compared with an integer column (a primary key, a foreign key) is named in
``integers``: its marker is then a number (within every integer column's range), which
the ORM takes where it would refuse a text. A value may appear more than once in the
statement (the same user in two conditions): each place takes it.

``Prepared.keyed(build, *names, integers=...)`` is a family of such statements, one per
``shape`` (a hashable value the statement's form depends on, such as a user's roles):
``rows(shape, **values)`` compiles ``build(shape, **markers)`` once per shape, and a
shape's statement may leave out a value (a fund manager's grants do not name them).
"""

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections
from django.db.models.query import ModelIterable, ValuesIterable, get_related_populators


class _Compiled:
    def __init__(self, queryset, alias, markers, absent_ok=False):
        self.iterable = queryset._iterable_class
        if self.iterable not in (ModelIterable, ValuesIterable):
            raise ImproperlyConfigured("Prepared: model instances or .values() only.")
        query = queryset.query
        compiler = query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots = {}
        for name, marker in markers.items():
            where = [i for i, p in enumerate(self.params) if _same(p, marker)]
            if not where and not absent_ok:
                raise ImproperlyConfigured(f"Prepared: parameter {name!r} is not a value.")
            self.slots[name] = where
        self.compiler = compiler
        self.converters = compiler.get_converters(
            [s[0] for s in compiler.select[0 : len(compiler.select)]]
        )
        if self.iterable is ValuesIterable:
            self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        else:
            klass_info = compiler.klass_info
            self.model = klass_info["model"]
            fields = klass_info["select_fields"]
            self.start, self.end = fields[0], fields[-1] + 1
            self.init_list = [f[0].target.attname for f in compiler.select[self.start : self.end]]
            self.populators = get_related_populators(klass_info, compiler.select, alias)
            self.annotations = list(compiler.annotation_col_map.items())
        self.alias = alias

    def rows(self, values: dict) -> list:
        params = list(self.params)
        for name, value in values.items():
            for slot in self.slots[name]:
                params[slot] = value
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        if self.iterable is ValuesIterable:
            return [dict(zip(self.names, row, strict=True)) for row in rows]
        out = []
        for row in rows:
            obj = self.model.from_db(self.alias, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations:
                setattr(obj, name, row[position])
            out.append(obj)
        return out


class _Nothing:
    def rows(self, values: dict) -> list:
        return []


_NOTHING = _Nothing()


def _same(param, marker) -> bool:
    # By type too: an integer marker never matches a text (nor a boolean) parameter.
    return type(param) is type(marker) and param == marker


# An integer marker: negative, far from any key, and within a 32-bit column's range (a
# lookup beyond its column's range is refused by the ORM before any SQL).
_INTEGER_MARKER = -1_987_654_321


class Prepared:
    """``build(**markers)`` (a queryset, sliced as wanted), compiled once per database;
    ``rows(**values)`` its rows for these values (see the module)."""

    def __init__(self, build, *names: str, integers: tuple[str, ...] = ()):
        unknown = set(integers) - set(names)
        if unknown:
            raise ImproperlyConfigured(f"Prepared: {sorted(unknown)} are not parameters.")
        self.build = build
        self.names = names
        self.markers = {
            name: _INTEGER_MARKER - i if name in integers else f"\x00seetf-prepared-{name}\x00"
            for i, name in enumerate(names)
        }
        self._compiled: dict = {}

    @classmethod
    def keyed(cls, build, *names: str, integers: tuple[str, ...] = ()) -> "_Keyed":
        return _Keyed(build, names, integers)

    def rows(self, using: str = "default", **values) -> list:
        return self._rows(self.build, using, using, values)

    def _rows(self, build, key, using: str, values: dict) -> list:
        if set(values) != set(self.names):
            raise TypeError(f"Prepared takes {sorted(self.names)}, not {sorted(values)}.")
        if connections[using].vendor != "postgresql":
            return list(build(**values).using(using))
        compiled = self._compiled.get(key)
        if compiled is None:
            absent_ok = key != using  # a shape of a keyed family may not use every value
            try:
                compiled = _Compiled(build(**self.markers), using, self.markers, absent_ok)
            except EmptyResultSet:
                compiled = _NOTHING  # a statement that can match nothing (pk__in=[])
            self._compiled[key] = compiled
        return compiled.rows(values)


class _Keyed(Prepared):
    """Statements of several shapes (see the module): ``rows(shape, **values)``."""

    def __init__(self, build, names, integers):
        super().__init__(build, *names, integers=integers)

    def rows(self, shape, using: str = "default", **values) -> list:
        def build(**given):
            return self.build(shape, **given)

        return self._rows(build, (using, shape), using, values)
