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
