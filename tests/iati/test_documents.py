"""A grant's documents published with its results story are linked from its IATI
activity (a ``document-link``: the download URL, the format from the sniffed content
type, the category's code, the title), and the file stays valid against the 2.03 schema,
the codelists and the rules. Nothing unpublished, and no participant list, is linked."""

from urllib.parse import urlsplit

import pytest

from iati.conf import reporting_org
from results import services as result_services
from tests.documents import factories as f
from tests.factories import fund_with
from tests.results.factories import finished_grant, make_story

from .conftest import activities, file_bytes
from .sums import check_both_files

pytestmark = pytest.mark.django_db


def test_documents_published_with_a_story_are_linked_from_the_activity(
    official_iati_files, leader, fund_manager, anon, settings, tmp_path
):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    fund_with("1000000.00")
    grant = finished_grant(leader, fund_manager)
    agenda = f.make_document(grant, leader, title="Study tour agenda")
    f.make_document(
        grant,
        leader,
        category="back_to_office_report",
        name="bto.docx",
        content=f.ooxml(),
        title="Back-to-office report",
    )
    f.make_document(
        grant,
        leader,
        category="participant_list",
        name="people.csv",
        content=f.CSV_TEXT,
        title="Participants",
    )
    story = make_story(fund_manager, grant)
    activity = activities(file_bytes("activities"))[
        reporting_org().grant_activity_id(grant.reference)
    ]
    assert list(activity.iter("document-link")) == []  # the story is not published yet

    result_services.story_publish(story=story, user=fund_manager)
    files = check_both_files(official_iati_files)
    activity = activities(files["activities"])[reporting_org().grant_activity_id(grant.reference)]
    links = [link for link in activity.iter("document-link") if "/stories/" not in link.get("url")]
    described = [
        (link.findtext("title/narrative"), link.get("format"), link.find("category").get("code"))
        for link in links
    ]
    assert described == [
        ("Study tour agenda", "application/pdf", "A02"),
        (
            "Back-to-office report",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "A07",
        ),
    ]
    url = links[0].get("url")
    assert url == (f"{settings.SITE_URL}/api/v1/grants/{grant.pk}/documents/{agenda.pk}/download/")
    got = anon.get(urlsplit(url).path)  # anyone may follow it
    assert got.status_code == 200 and b"".join(got.streaming_content) == f.PDF
