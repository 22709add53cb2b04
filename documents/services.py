"""Adding a document to a grant: the one way the API and the pages do it.

Nothing is deleted or replaced: a document is a record of what was shared on the grant,
and a corrected file is a new document (README "Documents").
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_record, created
from grants.models import Exchange, Grant
from results.models import CompletionReport
from seetf.common.errors import ApplicationError
from seetf.common.rules import require

from . import files
from .models import Document, DocumentCategory
from .permissions import CLOSED_TO_DOCUMENTS, can_upload_document
from .storage import document_storage

AUDITED_FIELDS = [
    "grant",
    "exchange",
    "completion_report",
    "category",
    "title",
    "filename",
    "stored_name",
    "size",
    "content_type",
]


def max_bytes() -> int:
    return settings.SEETF_DOCUMENT_MAX_BYTES


def document_check(*, grant: Grant, user) -> None:
    """403 unless the user may add documents to the grant; 409 on a rejected or cancelled
    grant. The API runs it before reading the file, and ``document_upload`` again."""
    require(can_upload_document(user, grant))
    if grant.status in CLOSED_TO_DOCUMENTS:
        raise ApplicationError(
            _("Documents cannot be added to a grant that is %(status)s.")
            % {"status": grant.status},
            code="invalid_transition",
        )


def check_file(file, *, name: str) -> str:
    """The file's sniffed content type; a ValidationError on ``file`` when it is too large,
    empty or of a refused type (API.md: a 400 on ``file``)."""
    limit = max_bytes()
    if file.size is None or file.size > limit:
        megabytes = limit / (1024 * 1024)
        raise ValidationError(
            {
                "file": [
                    _("A document may be at most %(megabytes)s MB.")
                    % {"megabytes": f"{megabytes:g}"}
                ]
            }
        )
    if file.size == 0:
        raise ValidationError({"file": [_("The file is empty.")]})
    try:
        return files.sniff(file, size=file.size, name=name).content_type
    except files.Refused as refusal:
        raise ValidationError({"file": [str(refusal)]}) from refusal


def _check_attachment(grant: Grant, exchange, completion_report) -> None:
    errors = {}
    if exchange is not None and exchange.grant_id != grant.pk:
        errors["exchange"] = [_("This exchange is not one of the grant's.")]
    if completion_report is not None and completion_report.grant_id != grant.pk:
        errors["completion_report"] = [_("This is not the grant's completion report.")]
    if exchange is not None and completion_report is not None:
        errors["exchange"] = [_("A document belongs to an exchange or to the report, not both.")]
    if errors:
        raise ValidationError(errors)


def document_upload(
    *,
    grant: Grant,
    user,
    file,
    category: str,
    title: str,
    exchange: Exchange | None = None,
    completion_report: CompletionReport | None = None,
) -> Document:
    """Store the file under a new random name and record it, audited. Checked first (the
    rule, the grant's status, the size and the type from the content), so a refused
    upload stores nothing; a file stored for a record that then fails is removed again."""
    document_check(grant=grant, user=user)
    if category not in DocumentCategory.values:
        raise ValidationError(
            {
                "category": [
                    _("%(category)s is not a document category.") % {"category": f"{category!r}"}
                ]
            }
        )
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": [_("A document needs a title.")]})
    _check_attachment(grant, exchange, completion_report)
    filename = files.safe_filename(getattr(file, "name", "") or "")
    content_type = check_file(file, name=filename)
    storage = document_storage()
    file.seek(0)
    stored_name = storage.save(f"grants/{grant.pk}/{uuid.uuid4().hex}", file)
    try:
        with transaction.atomic():
            locked = Grant.objects.select_for_update().get(pk=grant.pk)
            document_check(grant=locked, user=user)
            document = Document.objects.create(
                grant=locked,
                exchange=exchange,
                completion_report=completion_report,
                category=category,
                title=title[:200],
                filename=filename,
                stored_name=stored_name,
                size=file.size,
                content_type=content_type,
                uploaded_by=user,
            )
            audit_record(
                actor=user,
                action="document.upload",
                obj=document,
                changes=created(document, AUDITED_FIELDS),
            )
    except BaseException:
        storage.delete(stored_name)
        raise
    return document


def document_open(document: Document):
    """The stored file, opened for reading (the download view streams it)."""
    return document_storage().open(document.stored_name, "rb")
