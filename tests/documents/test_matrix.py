"""Every role on the documents endpoints, at every status of a grant (API.md): 401
without credentials (the download: 404, it also serves the public), 404 for a grant one
cannot see, 403 for a role that may not add documents, 409 on a rejected or cancelled
grant, and what is allowed. Runs on the grants tests' shared ``world``; window managers
on a grant of their window and of another."""

import pytest
from django.core.files.base import ContentFile

from documents.models import Document
from documents.storage import document_storage
from grants.models import Grant, GrantStatus
from tests.documents import factories as f
from tests.grants import conftest as grants_conftest
from tests.grants.conftest import GRANT_VISIBLE, ROLES
from tests.grants.factories import make_grant
from tests.windows.factories import make_window

S = GrantStatus
UPLOADERS = {"leader", "fund_manager", "fm_leader"}
CLOSED = {S.REJECTED, S.CANCELLED}
# The grants tests' module-scoped users, clients and grants at every status.
world = grants_conftest.world
clients = grants_conftest.clients

CASES = [pytest.param(s, r, id=f"{s}-{r}") for s in S.values for r in ROLES]


@pytest.fixture(autouse=True)
def documents_folder():
    """The run's own folder (seetf.settings.test), which the module's documents use."""


@pytest.fixture(scope="module")
def documents(world, django_db_blocker):
    """A document on each of the world's grants (made directly: the service refuses a
    rejected or cancelled grant, and these only need to exist)."""
    made = {}
    with django_db_blocker.unblock():
        for key, grant_id in world["grants"].items():
            grant = Grant.objects.get(pk=grant_id)
            name = document_storage().save(f"grants/{grant_id}/matrix", ContentFile(f.PDF))
            made[key] = Document.objects.create(
                grant=grant,
                category="agenda",
                title="Agenda",
                filename="agenda.pdf",
                stored_name=name,
                size=len(f.PDF),
                content_type="application/pdf",
                uploaded_by=grant.task_team_leader,
            ).pk
    return made


def owner_of(role):
    return "fm_leader" if role == "fm_leader" else "leader"


def expected_read(status, role, *, download=False):
    if role == "anonymous":
        return 404 if download else 401
    return 200 if status in GRANT_VISIBLE[role] else 404


def expected_upload(status, role):
    if role == "anonymous":
        return 401
    if status not in GRANT_VISIBLE[role]:
        return 404
    if role not in UPLOADERS:
        return 403
    return 409 if status in CLOSED else 201


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "role"), CASES)
def test_list_detail_and_download(status, role, world, clients, documents):
    key = owner_of(role), status, ""
    grant_id, document_id = world["grants"][key], documents[key]
    base = f"/api/v1/grants/{grant_id}/documents/"
    client = clients[role]
    listed = client.get(base)
    assert listed.status_code == expected_read(status, role)
    if listed.status_code == 200:
        assert [row["id"] for row in listed.json()["results"]] == [document_id]
    assert client.get(f"{base}{document_id}/").status_code == expected_read(status, role)
    got = client.get(f"{base}{document_id}/download/")
    assert got.status_code == expected_read(status, role, download=True)
    if got.status_code == 200:
        assert b"".join(got.streaming_content) == f.PDF


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "role"), CASES)
def test_upload(status, role, world, clients):
    grant_id = world["grants"][owner_of(role), status, ""]
    before = Document.objects.count()
    response = clients[role].post(
        f"/api/v1/grants/{grant_id}/documents/",
        {"category": "agenda", "title": "Agenda", "file": f.upload()},
        format="multipart",
    )
    want = expected_upload(status, role)
    assert response.status_code == want, response.content
    if want == 201:
        assert Document.objects.count() == before + 1
        assert Document.objects.get(pk=response.json()["id"]).uploaded_by.username.startswith("w-")
    else:
        assert Document.objects.count() == before
    if want in (403, 409):
        assert response.json()["code"] in ("permission_denied", "invalid_transition")


@pytest.fixture
def windowed(make_user, fund_manager, leader):
    """A grant submitted to a window whose approver is ``wm``, and one outside it."""
    from partners.roles import Role
    from tests.factories import fund_with

    fund_with("1000000.00")
    wm = make_user("wm", Role.WINDOW_MANAGER)
    window = make_window(fund_manager, allocate="300000.00", approvers=[(wm, "150000.00")])
    inside = make_grant(leader, S.SUBMITTED, window=window)
    outside = make_grant(leader, S.SUBMITTED)
    return wm, inside, outside


@pytest.mark.django_db
def test_a_window_manager_reads_and_adds_to_their_windows_grants_only(windowed, client_for):
    wm, inside, outside = windowed
    client = client_for(wm)
    for grant, read, upload in ((inside, 200, 201), (outside, 404, 404)):
        base = f"/api/v1/grants/{grant.pk}/documents/"
        assert client.get(base).status_code == read
        response = client.post(
            base,
            {"category": "concept_note", "title": "Concept note", "file": f.upload()},
            format="multipart",
        )
        assert response.status_code == upload, response.content
    document = Document.objects.get(grant=inside)
    got = client.get(f"/api/v1/grants/{inside.pk}/documents/{document.pk}/download/")
    assert got.status_code == 200
    draft = make_grant(inside.task_team_leader, S.DRAFT, window=inside.window)
    assert client.get(f"/api/v1/grants/{draft.pk}/documents/").status_code == 404
