"""Documents in the browser: a task team leader uploads a study tour's agenda on the grant
page, sees it listed, and downloads it (the same bytes, as an attachment); a donor who
sees the grant downloads it too, and has no upload form."""

from pathlib import Path

import pytest

from documents.models import Document
from grants.models import GrantStatus
from partners.roles import Role
from partners.services import user_create_or_update
from tests.browser.conftest import PASSWORD, PHONE, assert_accessible, label
from tests.documents.factories import PDF
from tests.factories import PartnerFactory, fund_with
from tests.grants.factories import make_exchange, make_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def grant(transactional_db, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }

    def user(username, role, **extra):
        return user_create_or_update(
            username=username, roles=[role], password=PASSWORD, email=f"{username}@example.org",
            **extra,
        )  # fmt: skip

    fund_with("1000000.00")
    manager = user("amina", Role.FUND_MANAGER)
    leader = user("tomas", Role.TASK_TEAM_LEADER)
    user("dana", Role.DONOR, partner=PartnerFactory(code="DNKB", name="Denmark (browser)"))
    grant = make_grant(leader, GrantStatus.APPROVED, manager=manager)
    make_exchange(grant, manager, instrument="study_tour", title="Study tour to Lima")
    return grant


def test_a_leader_uploads_an_agenda_and_downloads_it(grant, browser, tmp_path):
    leader = browser.window("tomas")
    page = leader.go(f"/grants/{grant.pk}/")
    form = page.get_by_test_id("document-form")
    form.get_by_label(label("Category")).select_option("agenda")
    form.get_by_label(label("Title")).fill("Agenda of the study tour")
    form.get_by_label(label("Exchange (optional)")).select_option(label="Study tour to Lima")
    form.get_by_label(label("File")).set_input_files(
        {"name": "Agenda – Lima.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    leader.click(form.get_by_role("button", name="Upload"))
    assert "“Agenda of the study tour” added." in page.locator(".messages").inner_text()
    row = page.get_by_test_id("document-row")
    assert row.count() == 1
    assert "Agenda – Lima.pdf" in row.inner_text() and "Study tour to Lima" in row.inner_text()
    assert Document.objects.get().uploaded_by.username == "tomas"
    assert_accessible(page, "grant page with a document")

    with page.expect_download() as downloading:
        row.get_by_test_id("document-download").click()
    download = downloading.value
    assert download.suggested_filename == "Agenda – Lima.pdf"
    saved = tmp_path / "downloaded.pdf"
    download.save_as(saved)
    assert Path(saved).read_bytes() == PDF
    leader.check()

    # A donor sees the grant (approved): the list and the download, not the form.
    donor = browser.window("dana", viewport=PHONE)
    page = donor.go(f"/grants/{grant.pk}/")
    assert page.get_by_test_id("document-row").count() == 1
    assert page.get_by_test_id("document-form").count() == 0
    assert_accessible(page, "grant page of a donor")
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"the grant page scrolls sideways: {widths}"
    with page.expect_download() as downloading:
        page.get_by_test_id("document-download").click()
    assert Path(downloading.value.path()).read_bytes() == PDF
