"""The documents tests: a funded fund, and each test's files in a folder of its own."""

import pytest

from tests.factories import fund_with


@pytest.fixture(autouse=True)
def _no_static_scan(settings):
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture(autouse=True)
def documents_folder(settings, tmp_path):
    """The file system storage under this test's own folder (what it stored is there)."""
    folder = tmp_path / "documents"
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder


@pytest.fixture
def funded(db):
    fund_with("5000000.00")
