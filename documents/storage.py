"""Where documents' bytes are kept: ``STORAGES["documents"]`` (seetf/settings/base.py:
the file system under ``MEDIA_ROOT`` by default, an S3-compatible bucket when
SEETF_DOCUMENTS_S3_BUCKET is set), or the default storage where a project names none."""

from django.conf import settings
from django.core.files.storage import default_storage, storages


def document_storage():
    if "documents" in settings.STORAGES:
        return storages["documents"]
    return default_storage
