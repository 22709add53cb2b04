"""The papers of a grant: concept notes, agendas, participant lists, reports, agreements.

A document belongs to a grant, and optionally to one of its exchanges or to its completion
report. Its bytes live in the ``documents`` storage (documents/storage.py: the local file
system by default, an S3-compatible bucket when configured) under ``stored_name``, a name
made of the grant and a random UUID, never the uploader's file name: no upload can
overwrite another file. The uploader's name is kept, sanitised, in ``filename``, for the
download's Content-Disposition only.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grants.models import Exchange, Grant
from results.models import CompletionReport


class DocumentCategory(models.TextChoices):
    CONCEPT_NOTE = "concept_note", _("Concept note")
    AGENDA = "agenda", _("Agenda")
    PARTICIPANT_LIST = "participant_list", _("Participant list")
    BACK_TO_OFFICE_REPORT = "back_to_office_report", _("Back-to-office report")
    PRESENTATION = "presentation", _("Presentation")
    AGREEMENT = "agreement", _("Grant agreement")
    PHOTO = "photo", _("Photo")
    OTHER = "other", _("Other")


# Never public, whatever the grant's story: participant lists name people (personal data).
PRIVATE_CATEGORIES = (DocumentCategory.PARTICIPANT_LIST,)


class Document(models.Model):
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="documents")
    exchange = models.ForeignKey(
        Exchange, null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    completion_report = models.ForeignKey(
        CompletionReport,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    category = models.CharField(max_length=32, choices=DocumentCategory.choices)
    title = models.CharField(max_length=200)
    filename = models.CharField(max_length=255, help_text=_("The uploader's name, sanitised."))
    stored_name = models.CharField(max_length=255, unique=True, editable=False)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=128, help_text=_("Sniffed from the content."))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(exchange__isnull=True) | Q(completion_report__isnull=True),
                name="document_one_attachment",
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="document_not_empty"),
        ]

    def __str__(self):
        return self.title
