"""The audit log: one append-only row per change of money, status, permissions or
published content (issue 14, point 6), written by the services in the transaction of the
change they record (``audit.services.audit_record``).

The database refuses UPDATE and DELETE on the table (triggers of migration 0002, the
same ``seetf.common.appendonly`` SQL as the money tables); a correction is a new entry.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    # The actor's username when the entry was written (kept if the user is renamed),
    # or what acted when nobody did ("system", a job's name).
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    # {"field": [before, after]}, values as JSON (money as strings, dates ISO).
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), max_length=5000, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "at"])]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or '-'} {self.action} {self.object_repr}"
