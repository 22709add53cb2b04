"""/api/v1/grants/{id}/documents/: uploading, listing, downloading, and every refusal."""

from urllib.parse import urlsplit

import pytest

from audit.models import AuditEntry
from documents.models import Document
from grants.models import GrantStatus
from results import services as result_services
from tests.documents import factories as f
from tests.grants.factories import make_exchange, make_grant
from tests.results.factories import finished_grant, make_story

pytestmark = pytest.mark.django_db


def post(client, grant, *, name="agenda.pdf", content=f.PDF, **fields):
    data = {"category": "agenda", "title": "Study tour agenda", **fields}
    data["file"] = f.upload(name, content)
    return client.post(f"/api/v1/grants/{grant.pk}/documents/", data, format="multipart")


def download(client, body):
    return client.get(urlsplit(body["url"]).path)


def content_of(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def approved(funded, leader, fund_manager):
    return make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)


def test_the_leader_uploads_and_anyone_who_sees_the_grant_downloads(
    approved, client_for, documents_folder
):
    response = post(client_for("leader"), approved, name="Agenda – Lima.pdf")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["category"] == "agenda" and body["title"] == "Study tour agenda"
    assert body["filename"] == "Agenda – Lima.pdf"
    assert body["size"] == len(f.PDF) and body["content_type"] == "application/pdf"
    assert body["uploaded_by"] == "ttl" and body["exchange"] is None
    assert body["url"].endswith(f"/api/v1/grants/{approved.pk}/documents/{body['id']}/download/")
    document = Document.objects.get()
    # Stored under a random name of the grant's, never the uploader's.
    assert document.stored_name.startswith(f"grants/{approved.pk}/")
    assert "Agenda" not in document.stored_name
    assert (documents_folder / document.stored_name).read_bytes() == f.PDF
    entry = AuditEntry.objects.get(action="document.upload")
    assert entry.actor.username == "ttl" and entry.changes["title"] == [None, "Study tour agenda"]

    for role in ("leader", "fund_manager", "other_leader", "donor"):
        got = download(client_for(role), body)
        assert got.status_code == 200, role
        assert content_of(got) == f.PDF
        assert got["Content-Type"] == "application/pdf"
        assert got["X-Content-Type-Options"] == "nosniff"
        assert got["Content-Disposition"] == (
            'attachment; filename="Agenda _ Lima.pdf"; '
            "filename*=UTF-8''Agenda%20%E2%80%93%20Lima.pdf"
        )
        assert "no-store" in got["Cache-Control"]
        assert got["Content-Security-Policy"] == "default-src 'none'; sandbox"
        listed = client_for(role).get(f"/api/v1/grants/{approved.pk}/documents/").json()
        assert [row["id"] for row in listed["results"]] == [body["id"]]
        detail = client_for(role).get(f"/api/v1/grants/{approved.pk}/documents/{body['id']}/")
        assert detail.json()["filename"] == "Agenda – Lima.pdf"


def test_an_upload_never_overwrites_another(approved, client_for, documents_folder):
    first = post(client_for("leader"), approved, content=f.PDF).json()
    second = post(client_for("leader"), approved, content=f.PDF + b"% second\n").json()
    assert first["filename"] == second["filename"] == "agenda.pdf"
    names = set(Document.objects.values_list("stored_name", flat=True))
    assert len(names) == 2
    assert content_of(download(client_for("leader"), first)) == f.PDF
    assert content_of(download(client_for("leader"), second)) == f.PDF + b"% second\n"


def test_a_document_of_an_exchange(approved, client_for, fund_manager):
    exchange = make_exchange(approved, fund_manager)
    response = post(client_for("fund_manager"), approved, exchange=exchange.pk)
    assert response.status_code == 201 and response.json()["exchange"] == exchange.pk
    other = make_exchange(
        make_grant(approved.task_team_leader, GrantStatus.DRAFT), approved.task_team_leader
    )
    response = post(client_for("fund_manager"), approved, exchange=other.pk)
    assert response.status_code == 400 and "exchange" in response.json()


def test_a_document_of_the_completion_report(funded, leader, fund_manager, client_for):
    grant = finished_grant(leader, fund_manager, accept=False)
    response = post(
        client_for("leader"), grant, category="back_to_office_report", completion_report="true"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["completion_report"] is True
    assert Document.objects.get().completion_report == grant.completion_report


def test_a_file_too_large_is_a_400_on_file(approved, client_for, settings):
    settings.SEETF_DOCUMENT_MAX_BYTES = len(f.PDF) - 1
    response = post(client_for("leader"), approved)
    assert response.status_code == 400
    assert list(response.json()) == ["file"] and "at most" in response.json()["file"][0]
    assert (
        not Document.objects.exists()
        and not AuditEntry.objects.filter(action="document.upload").exists()
    )


def test_the_size_limit_is_twenty_megabytes_by_default(settings):
    assert settings.SEETF_DOCUMENT_MAX_BYTES == 20 * 1024 * 1024


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("agenda.pdf", f.EXE, "refused"),
        ("agenda.docx", f.zip_bomb(), "zip bomb"),
        ("agenda.docx", f.ooxml(content_types=False), "not an Office document"),
        ("agenda.pdf", f.ELF, "refused"),
    ],
    ids=["renamed-exe", "zip-bomb", "plain-zip", "renamed-elf"],
)
def test_a_refused_file_is_a_400_on_file_and_stores_nothing(
    approved, client_for, documents_folder, name, content, message
):
    response = post(client_for("leader"), approved, name=name, content=content)
    assert response.status_code == 400
    assert list(response.json()) == ["file"] and message in response.json()["file"][0]
    assert not Document.objects.exists()
    assert not documents_folder.exists() or not any(documents_folder.rglob("*"))


def test_a_path_in_the_name_becomes_a_plain_name(approved, client_for, documents_folder):
    response = post(client_for("leader"), approved, name="../../etc/passwd", content=f.AGENDA_TEXT)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["filename"] == "passwd" and body["content_type"] == "text/plain"
    stored = Document.objects.get().stored_name
    assert ".." not in stored and (documents_folder / stored).is_file()
    assert 'filename="passwd"' in download(client_for("leader"), body)["Content-Disposition"]


def test_an_unknown_category_or_no_title_is_a_400(approved, client_for):
    assert "category" in post(client_for("leader"), approved, category="memo").json()
    assert "title" in post(client_for("leader"), approved, title="").json()
    assert not Document.objects.exists()


# --- Who sees what -------------------------------------------------------------------------


def grant_with_document(owner, status, manager):
    grant = make_grant(owner, status, manager=manager)
    return grant, f.make_document(grant, owner)


def urls(grant, document):
    base = f"/api/v1/grants/{grant.pk}/documents/"
    return [base, f"{base}{document.pk}/", f"{base}{document.pk}/download/"]


def test_a_drafts_documents_are_its_leaders_only(funded, leader, fund_manager, client_for):
    grant, document = grant_with_document(leader, GrantStatus.DRAFT, fund_manager)
    for url in urls(grant, document):
        assert client_for("leader").get(url).status_code == 200, url
        for role in ("fund_manager", "other_leader", "donor"):
            assert client_for(role).get(url).status_code == 404, (role, url)
    assert client_for("anonymous").get(urls(grant, document)[2]).status_code == 404


def test_another_leaders_grant_in_review_is_a_404(
    funded, leader, leader2, fund_manager, client_for
):
    grant, document = grant_with_document(leader, GrantStatus.UNDER_REVIEW, fund_manager)
    for url in urls(grant, document):
        assert client_for("other_leader").get(url).status_code == 404, url
        assert client_for("fund_manager").get(url).status_code == 200, url


def test_a_donor_sees_what_it_may_see_of_the_grant(funded, leader, fund_manager, client_for):
    submitted, hidden = grant_with_document(leader, GrantStatus.SUBMITTED, fund_manager)
    approved, shown = grant_with_document(leader, GrantStatus.APPROVED, fund_manager)
    for url in urls(submitted, hidden):
        assert client_for("donor").get(url).status_code == 404, url
    for url in urls(approved, shown):
        assert client_for("donor").get(url).status_code == 200, url
    # A document's id under another grant's URL is a 404 too.
    assert (
        client_for("donor")
        .get(f"/api/v1/grants/{approved.pk}/documents/{hidden.pk}/download/")
        .status_code
        == 404
    )


def test_a_published_story_makes_its_grants_documents_public(
    funded, leader, fund_manager, client_for, anon
):
    grant = finished_grant(leader, fund_manager)
    agenda = f.make_document(grant, leader)
    people = f.make_document(
        grant, leader, category="participant_list", name="people.csv", content=f.CSV_TEXT
    )
    agenda_url, people_url = urls(grant, agenda)[2], urls(grant, people)[2]
    story = make_story(fund_manager, grant)
    assert anon.get(agenda_url).status_code == 404  # a draft story publishes nothing
    result_services.story_publish(story=story, user=fund_manager)
    got = anon.get(agenda_url)
    assert got.status_code == 200 and content_of(got) == f.PDF
    assert got["Content-Disposition"].startswith("attachment;")
    assert anon.get(people_url).status_code == 404  # participant lists name people
    assert client_for("donor").get(people_url).status_code == 200  # the grant's readers do
    # The API's lists stay for signed-in users.
    assert anon.get(f"/api/v1/grants/{grant.pk}/documents/").status_code == 401
