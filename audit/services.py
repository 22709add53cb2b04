"""Writing the audit log: ``audit_record`` in the transaction of the change it records.

Every service that changes money, a status, a permission or published content calls it
(one entry per change). ``snapshot`` and ``diff`` turn model fields into the entry's
``changes``: ``{"field": [before, after]}`` with JSON values (Decimal as a string, dates
and times ISO 8601, a foreign key as its id, many-to-many as sorted ids).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.context import current_address
from audit.models import AuditEntry


def json_value(value):
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return str(Decimal(str(value)))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_value(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict:
    """The named fields of ``obj`` (all concrete fields when none are named) as JSON.
    A foreign key is read as its id (no query); a many-to-many field as its sorted ids
    (one query, skipped for an unsaved object)."""
    opts = obj._meta
    names = (
        list(fields)
        if fields is not None
        else [f.name for f in opts.concrete_fields if not f.primary_key]
    )
    out = {}
    for name in names:
        field = opts.get_field(name)
        if field.many_to_many:
            out[name] = sorted(obj.pk and getattr(obj, name).values_list("pk", flat=True) or [])
        elif field.is_relation:
            out[name] = getattr(obj, field.attname)
        else:
            out[name] = json_value(getattr(obj, field.attname))
    return out


def diff(before: dict, after: dict) -> dict:
    """``{field: [before, after]}`` for the fields whose JSON value differs."""
    keys = list(dict.fromkeys([*before, *after]))
    pairs = {k: [json_value(before.get(k)), json_value(after.get(k))] for k in keys}
    return {k: pair for k, pair in pairs.items() if pair[0] != pair[1]}


def created(obj: models.Model, fields: Iterable[str] | None = None) -> dict:
    """The ``changes`` of a new object: every named field from None."""
    return {k: [None, v] for k, v in snapshot(obj, fields).items()}


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    changes: dict | None = None,
    reason: str = "",
    address: str | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Append one entry. ``actor`` is the user who acted (None for a job: name it in
    ``actor_name``); ``action`` a dotted name (``grant.update``, ``receipt.reverse``,
    ``user.roles``); ``address`` defaults to the current request's
    (``audit.context``). Call it inside the transaction of the change."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    entry = AuditEntry(
        actor=user,
        actor_name=(actor_name or (user.get_username() if user else "system"))[:150],
        action=action[:64],
        changes=json_value(changes or {}),
        reason=(reason or "")[:5000],
        address=address if address is not None else current_address(),
    )
    if obj is not None:
        entry.content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        entry.object_id = str(obj.pk)[:64]
        entry.object_repr = str(obj)[:200]
    entry.save(force_insert=True)
    return entry
