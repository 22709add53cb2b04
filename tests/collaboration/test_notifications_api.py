"""`/api/v1/notifications/` (the user's own, `?unread=`) and `POST .../read/`, for every
role."""

import pytest

from collaboration.models import Notification
from tests.conftest import api_client
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db
ROLES = ["fund_manager", "window_manager", "task_team_leader", "other_leader", "donor",
         "no_role", "superuser"]  # fmt: skip


@pytest.fixture
def each_told(person, funded, leader):
    """Two notifications for every role's user (one read), made directly."""
    grant = make_grant(leader)
    for who in ROLES:
        user = person(who)
        Notification.objects.create(
            user=user, kind="comment", grant=grant, text="a", delivery="never"
        )
        Notification.objects.create(
            user=user, kind="mention", grant=grant, text="b", delivery="never",
            read_at="2026-01-01T00:00:00Z",
        )  # fmt: skip
    return grant


@pytest.mark.parametrize("who", ROLES)
def test_each_user_reads_and_marks_only_their_own(who, person, each_told):
    user = person(who)
    client = api_client(user)
    body = client.get("/api/v1/notifications/").json()
    assert body["count"] == 2
    assert {n["id"] for n in body["results"]} == set(
        Notification.objects.filter(user=user).values_list("pk", flat=True)
    )
    assert set(body["results"][0]) == {"id", "kind", "grant", "text", "created_at", "read_at"}
    (unread,) = client.get("/api/v1/notifications/?unread=true").json()["results"]
    assert unread["read_at"] is None and unread["text"] == "a"
    assert client.get("/api/v1/notifications/?unread=false").json()["count"] == 1

    others = list(Notification.objects.exclude(user=user).values_list("pk", flat=True))
    response = client.post("/api/v1/notifications/read/", {"ids": others})
    assert response.status_code == 200 and response.json() == {"read": 0, "unread": 1}
    assert client.get(f"/api/v1/notifications/{others[0]}/").status_code == 404
    response = client.post("/api/v1/notifications/read/", {"ids": [unread["id"]]})
    assert response.json() == {"read": 1, "unread": 0}
    # Everybody else's are untouched.
    assert Notification.objects.filter(read_at=None).count() == len(ROLES) - 1


def test_read_with_no_ids_marks_all(leader, funded):
    grant = make_grant(leader)
    for text in "abc":
        Notification.objects.create(
            user=leader, kind="comment", grant=grant, text=text, delivery="never"
        )
    response = api_client(leader).post("/api/v1/notifications/read/", {}, format="json")
    assert response.json() == {"read": 3, "unread": 0}
    response = api_client(leader).post("/api/v1/notifications/read/")
    assert response.status_code == 200 and response.json() == {"read": 0, "unread": 0}


@pytest.mark.parametrize("body", [{"ids": "1"}, {"ids": ["x"]}, {"ids": [0]}, {"ids": [2**70]}])
def test_bad_ids_are_a_400(leader, body):
    response = api_client(leader).post("/api/v1/notifications/read/", body, format="json")
    assert response.status_code == 400 and "ids" in response.json()


def test_anonymous_gets_401(db):
    client = api_client()
    assert client.get("/api/v1/notifications/").status_code == 401
    assert client.post("/api/v1/notifications/read/", {}).status_code == 401


@pytest.mark.parametrize("told", [0, 3, 120])
def test_the_list_reads_its_page_and_count_in_one_statement_however_long(
    told, leader, funded, django_assert_num_queries
):
    """A person with more notifications than a page runs the queries of one with few
    (the page and its count are one statement); pages past the first are right, and a
    page past the last is a 404."""
    grant = make_grant(leader)
    Notification.objects.bulk_create(
        Notification(user=leader, kind="comment", grant=grant, text=f"n{i}", delivery="never")
        for i in range(told)
    )
    client = api_client(leader)
    # The page with the count (force_authenticate: the user is at hand, roles unread).
    with django_assert_num_queries(1):
        body = client.get("/api/v1/notifications/?page_size=50").json()
    assert body["count"] == told
    assert len(body["results"]) == min(told, 50)
    assert (body["next"] is not None) == (told > 50)
    if told > 50:
        last = client.get("/api/v1/notifications/?page_size=50&page=3").json()
        assert last["count"] == told and len(last["results"]) == told - 100
        assert last["next"] is None and last["previous"] is not None
        ids = {
            n["id"]
            for page in (1, 2, 3)
            for n in client.get(f"/api/v1/notifications/?page_size=50&page={page}").json()[
                "results"
            ]
        }
        assert len(ids) == told
    past = client.get("/api/v1/notifications/?page_size=50&page=4")
    assert past.status_code == 404
    assert client.get("/api/v1/notifications/?page=0").status_code == 400
