"""The durable login log (issue 14, point 5): every login and failure, on the web and for
tokens, kept in an append-only table that an axes reset does not touch (on main failed
logins survived only as axes' counters, which a reset deletes); read by fund managers at
GET /api/v1/auth/logins/ and on /logins/."""

from datetime import timedelta

import pytest
from axes.utils import reset
from django.db import DatabaseError, IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import LoginMethod, LoginOutcome, LoginRecord

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
URL = "/api/v1/auth/logins/"


def web_login(username, password):
    return Client().post(
        "/login/",
        {"username": username, "password": password},
        REMOTE_ADDR="192.0.2.1",
        HTTP_USER_AGENT="Mozilla/5.0 " + "x" * 400,
    )


def test_a_web_login_and_a_failure_are_logged(leader):
    web_login("ttl", PASSWORD)
    web_login("ttl", "wrong")
    web_login("nobody-such", "wrong")

    rows = list(
        LoginRecord.objects.order_by("id").values_list(
            "username", "user", "method", "outcome", "address"
        )
    )
    assert rows == [
        ("ttl", leader.pk, LoginMethod.WEB, LoginOutcome.SUCCESS, "192.0.2.1"),
        ("ttl", leader.pk, LoginMethod.WEB, LoginOutcome.FAILURE, "192.0.2.1"),
        ("nobody-such", None, LoginMethod.WEB, LoginOutcome.FAILURE, "192.0.2.1"),
    ]
    assert all(len(r.user_agent) == 200 for r in LoginRecord.objects.all())


def test_a_locked_out_attempt_is_logged_as_locked(leader, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(3):
        web_login("ttl", "wrong")

    assert LoginRecord.objects.filter(outcome=LoginOutcome.LOCKED).exists()


def test_an_axes_reset_leaves_the_log(leader):
    for _ in range(3):
        web_login("ttl", "wrong")

    reset()

    assert LoginRecord.objects.filter(outcome=LoginOutcome.FAILURE).count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_log_is_append_only():
    record = services.login_record(
        username="x", address=None, method=LoginMethod.WEB, outcome=LoginOutcome.FAILURE
    )
    for statement in (
        lambda: LoginRecord.objects.filter(pk=record.pk).update(outcome=LoginOutcome.SUCCESS),
        lambda: LoginRecord.objects.filter(pk=record.pk).delete(),
    ):
        with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
            statement()
    assert LoginRecord.objects.get(pk=record.pk).outcome == LoginOutcome.FAILURE


# --- Who reads it -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, status",
    [
        ("fund_manager", 200),
        ("superuser", 200),
        ("leader", 403),
        ("donor", 403),
        ("no_role", 403),
        ("anonymous", 401),
    ],
)
def test_who_reads_the_log(client_for, who, status, leader):
    web_login("ttl", "wrong")

    response = client_for(who).get(URL)

    assert response.status_code == status
    if status == 200:
        assert response.json()["results"][0]["username"] == "ttl"
        assert response.json()["results"][0]["user"] == "ttl"


@pytest.mark.parametrize(
    "who, status",
    [
        ("fund_manager", 200),
        ("leader", 403),
        ("donor", 403),
        ("no_role", 403),
    ],
)
def test_who_reads_the_page(web, who, status):
    assert web(who).get("/logins/").status_code == status


def test_the_page_needs_a_login(web):
    assert web().get("/logins/")["Location"].startswith("/login/")


def test_the_filters(client_for, leader, leader2):
    web_login("ttl", "wrong")
    web_login("ttl2", PASSWORD)
    old = services.login_record(
        username="ttl", address=None, method=LoginMethod.WEB, outcome=LoginOutcome.FAILURE
    )
    LoginRecord.objects.filter(pk=old.pk)  # kept as written: the log is append-only
    client = client_for("fund_manager")

    def names(**query):
        return [(r["username"], r["outcome"]) for r in client.get(URL, query).json()["results"]]

    assert names(username="TTL2") == [("ttl2", "success")]
    assert set(names(outcome="failure")) == {("ttl", "failure")}
    assert names(since=(timezone.now() + timedelta(minutes=1)).isoformat()) == []
    assert len(names(since=(timezone.now() - timedelta(minutes=1)).isoformat())) == 3
    assert client.get(URL, {"outcome": "nonsense"}).status_code == 400
    assert client.get(URL, {"since": "yesterday"}).status_code == 400


def test_the_page_filters_too(web, leader, leader2):
    web_login("ttl", "wrong")
    web_login("ttl2", PASSWORD)

    page = web("fund_manager").get("/logins/", {"username": "ttl2"})

    rows = page.context["page"].object_list
    assert [r.username for r in rows] == ["ttl2"]


@pytest.mark.parametrize("failures", [2, 8])
def test_the_list_runs_a_fixed_number_of_queries(
    fresh_client, leader, django_assert_num_queries, failures, settings
):
    settings.AXES_FAILURE_LIMIT = 100
    for _ in range(failures):
        web_login("ttl", "wrong")
    client = fresh_client("fund_manager")

    with django_assert_num_queries(3):  # roles, count, the page with its users
        response = client.get(URL)
    assert response.json()["count"] == failures
