import contextlib
import contextvars

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The models whose instances keep the timestamps they carry, in this context only (a
# thread, a task): see ``explicit_timestamps``.
_timestamps_kept: contextvars.ContextVar[frozenset] = contextvars.ContextVar(
    "seetf_timestamps_kept", default=frozenset()
)


@contextlib.contextmanager
def explicit_timestamps(*models):
    """Saves (and bulk_create) of these models keep the created_at/updated_at their
    instances carry (the past's, for an import of history), within this block and this
    context only: a context variable, so another thread or request of the process saving
    meanwhile is stamped as always. An instance without a value is stamped now."""
    token = _timestamps_kept.set(_timestamps_kept.get() | frozenset(models))
    try:
        yield
    finally:
        _timestamps_kept.reset(token)


class StampDateTimeField(models.DateTimeField):
    """``auto_now`` / ``auto_now_add``, unless ``explicit_timestamps`` names the model in
    this context and the instance carries a value. Deconstructs as Django's DateTimeField
    (the column and its migrations are the same)."""

    def pre_save(self, model_instance, add):
        if type(model_instance) in _timestamps_kept.get():
            value = getattr(model_instance, self.attname)
            if value is not None:
                return value
        return super().pre_save(model_instance, add)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs


class TimeStampedModel(models.Model):
    created_at = StampDateTimeField(auto_now_add=True)
    updated_at = StampDateTimeField(auto_now=True)

    class Meta:
        abstract = True


class IdempotencyKey(models.Model):
    """The first response to a money-recording POST, replayed for retries of the same key.

    The row is inserted in the same transaction as the write it guards, so the unique
    constraint makes a concurrent duplicate wait for the first request and then see it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text=_("SHA-256 of method, path and body."))
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(encoder=None)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]

    def __str__(self):
        return f"{self.user_id}:{self.key}"


class DataChange(models.Model):
    """The version of the data that reports are computed from (``seetf.common.datacache``).

    Database triggers on every table of the partners, grants and results apps add to it
    whenever a statement writes one of them, whoever writes (the services, the admin, a
    bulk update, raw SQL): the version is ``SUM(weight)``. On PostgreSQL each writing
    statement inserts a row (inserts never wait on one another, so writers do not queue
    on a counter, and a row appears to readers only when its transaction commits); the
    daily job folds them into one. On SQLite, where one writer at a time holds the whole
    database, the triggers add to a single row.
    """

    weight = models.BigIntegerField(default=1)

    class Meta:
        verbose_name = _("data change")

    def __str__(self):
        return f"{self.pk}: +{self.weight}"
