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
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models.query import ModelIterable, ValuesIterable, get_related_populators


class _Compiled:
    def __init__(self, queryset, alias, markers):
        self.iterable = queryset._iterable_class
        if self.iterable not in (ModelIterable, ValuesIterable):
            raise ImproperlyConfigured("Prepared: model instances or .values() only.")
        query = queryset.query
        compiler = query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots = {}
        for name, marker in markers.items():
            where = [i for i, p in enumerate(self.params) if p == marker]
            if len(where) != 1:
                raise ImproperlyConfigured(f"Prepared: parameter {name!r} is not one value.")
            self.slots[name] = where[0]
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
            params[self.slots[name]] = value
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


class Prepared:
    """``build(**markers)`` (a queryset, sliced as wanted), compiled once per database;
    ``rows(**values)`` its rows for these values (see the module)."""

    def __init__(self, build, *names: str):
        self.build = build
        self.names = names
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, using: str = "default", **values) -> list:
        if set(values) != set(self.names):
            raise TypeError(f"Prepared takes {sorted(self.names)}, not {sorted(values)}.")
        if connections[using].vendor != "postgresql":
            return list(self.build(**values).using(using))
        compiled = self._compiled.get(using)
        if compiled is None:
            markers = {name: f"\x00seetf-prepared-{name}\x00" for name in self.names}
            compiled = _Compiled(self.build(**markers), using, markers)
            self._compiled[using] = compiled
        return compiled.rows(values)
