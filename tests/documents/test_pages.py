"""The grant page's documents section (list, download links, the upload form), the
upload through the page, and the documents a published story's page lists."""

import pytest

from documents.models import Document
from grants.models import GrantStatus
from results import services as result_services
from tests.documents import factories as f
from tests.grants.factories import make_exchange, make_grant
from tests.results.factories import finished_grant, make_story

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(funded, leader, fund_manager):
    return make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)


def upload(client, grant, *, name="agenda.pdf", content=f.PDF, **fields):
    data = {"category": "agenda", "title": "Study tour agenda", "exchange": "", **fields}
    data["file"] = f.upload(name, content)
    return client.post(f"/grants/{grant.pk}/documents/", data)


def test_the_leader_uploads_on_the_grant_page_and_the_list_links_the_download(
    approved, web, fund_manager
):
    exchange = make_exchange(approved, fund_manager, title="Study tour to Lima")
    client = web("leader")
    page = client.get(f"/grants/{approved.pk}/").content.decode()
    assert 'data-testid="document-form"' in page and 'enctype="multipart/form-data"' in page
    assert "No document yet." in page
    response = upload(client, approved, exchange=str(exchange.pk))
    assert response.status_code == 302
    assert response["Location"] == f"/grants/{approved.pk}/#documents"
    document = Document.objects.get()
    assert document.exchange == exchange and document.uploaded_by.username == "ttl"
    page = client.get(f"/grants/{approved.pk}/").content.decode()
    assert "“Study tour agenda” added." in page
    link = f"/api/v1/grants/{approved.pk}/documents/{document.pk}/download/"
    assert f'href="{link}"' in page and "Study tour to Lima" in page
    got = client.get(link)
    assert got.status_code == 200 and b"".join(got.streaming_content) == f.PDF
    assert got["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("agenda.pdf", f.EXE, "refused"),
        ("agenda.docx", f.zip_bomb(), "zip bomb"),
    ],
    ids=["renamed-exe", "zip-bomb"],
)
def test_a_refused_file_shows_the_page_again_with_the_reason(
    approved, web, documents_folder, name, content, message
):
    response = upload(web("leader"), approved, name=name, content=content)
    assert response.status_code == 400
    page = response.content.decode()
    form = page[page.index('data-testid="document-form"') :]
    assert message in form and 'value="Study tour agenda"' in form
    assert not Document.objects.exists()
    assert not documents_folder.exists() or not any(documents_folder.rglob("*"))


def test_who_gets_the_form_and_who_may_post(approved, web, leader, fund_manager):
    f.make_document(approved, leader)
    for who, form in (("fund_manager", True), ("donor", False), ("other_leader", False)):
        page = web(who).get(f"/grants/{approved.pk}/").content.decode()
        assert page.count('data-testid="document-row"') == 1, who
        assert ('data-testid="document-form"' in page) is form, who
    assert upload(web("donor"), approved).status_code == 403
    submitted = make_grant(leader, GrantStatus.SUBMITTED)
    assert upload(web("other_leader"), submitted).status_code == 404
    assert upload(web(None), approved).status_code == 302  # to the sign-in page
    assert Document.objects.count() == 1


def test_a_published_storys_page_lists_its_public_documents(funded, leader, fund_manager, web):
    grant = finished_grant(leader, fund_manager)
    agenda = f.make_document(grant, leader, title="Study tour agenda")
    f.make_document(
        grant,
        leader,
        category="participant_list",
        name="p.csv",
        content=f.CSV_TEXT,
        title="Participants",
    )
    story = make_story(fund_manager, grant)
    assert (
        "Study tour agenda"
        not in web("fund_manager").get(f"/stories/{story.slug}/").content.decode()
    )
    result_services.story_publish(story=story, user=fund_manager)
    page = web(None).get(f"/stories/{story.slug}/").content.decode()
    link = f"/api/v1/grants/{grant.pk}/documents/{agenda.pk}/download/"
    assert f'data-testid="story-document"><a href="{link}"' in page
    assert "Participants" not in page


def test_a_cancelled_grant_takes_no_document(funded, leader, fund_manager, web):
    cancelled = make_grant(leader, GrantStatus.CANCELLED, manager=fund_manager)
    client = web("leader")
    assert (
        'data-testid="document-form"' not in client.get(f"/grants/{cancelled.pk}/").content.decode()
    )
    response = upload(client, cancelled)
    assert response.status_code == 302 and response["Location"] == f"/grants/{cancelled.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Documents cannot be added to a grant that is cancelled." in page
    assert not Document.objects.exists()
