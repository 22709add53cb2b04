"""Signing in (API.md Authentication): a token from `POST /api/v1/auth/token/` used as
`Authorization: Token ...`; sessions (with CSRF) for the web UI; and login throttling
after AXES_FAILURE_LIMIT wrong passwords for one username (django-axes, whose attempts
live in the database, so each test starts clean)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.middleware.csrf import _get_new_csrf_string
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partners.models import Partner
from tests.accounts.codes import current_code
from tests.conftest import second_factor_given

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"  # what tests/conftest.py's make_user gives
TOKEN_URL = "/api/v1/auth/token/"


def _login(username, password, client=None, otp=None, **extra):
    client = client or APIClient()
    body = {"username": username, "password": password}
    if otp is not None:
        body["otp"] = otp  # fund managers sign in with two factors (tests/accounts)
    return client.post(TOKEN_URL, body, format="json", **extra)


# --- Tokens ----------------------------------------------------------------------------------


def test_a_token_for_a_username_and_password(fund_manager):
    response = _login("fm", PASSWORD, otp=current_code(fund_manager))

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=fund_manager).key}


def test_the_token_authenticates_requests(fund_manager):
    token = _login("fm", PASSWORD, otp=current_code(fund_manager)).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    read = client.get("/api/v1/partners/")
    write = client.post(
        "/api/v1/partners/",
        {"code": "TOKN", "name": "Made with a token", "kind": "private"},
        format="json",
    )

    assert read.status_code == 200
    assert write.status_code == 201  # no CSRF for token requests
    assert Partner.objects.filter(code="TOKN").exists()


def test_asking_again_gives_the_same_token(leader):
    assert _login("ttl", PASSWORD).json() == _login("ttl", PASSWORD).json()


def test_the_token_carries_the_users_role(no_role_user, donor):
    nobody = APIClient()
    nobody.credentials(HTTP_AUTHORIZATION=f"Token {_login('nobody', PASSWORD).json()['token']}")
    a_donor = APIClient()
    a_donor.credentials(HTTP_AUTHORIZATION=f"Token {_login('donor', PASSWORD).json()['token']}")

    assert nobody.get("/api/v1/partners/").status_code == 403
    assert a_donor.get("/api/v1/partners/").status_code == 200
    assert a_donor.post("/api/v1/partners/", {}, format="json").status_code == 403


@pytest.mark.parametrize(
    "header",
    ["Token not-a-real-token", "Token", "Token two words", "Bearer abc", "Basic Zm06eA=="],
)
def test_a_bad_authorization_header_is_401(header, fund_manager):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/partners/")

    if header.startswith(("Bearer", "Basic")):
        # Not a token at all: as if there were no credentials.
        assert response.json()["code"] == "not_authenticated"
    else:
        assert response.json()["code"] == "authentication_failed"
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "fm", "password": "wrong"}, "non_field_errors"),
        ({"username": "nobody-at-all", "password": PASSWORD}, "non_field_errors"),
        ({"username": "fm"}, "password"),
        ({"password": PASSWORD}, "username"),
    ],
)
def test_a_failed_login_is_400_and_gives_no_token(body, field, fund_manager):
    response = APIClient().post(TOKEN_URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Token.objects.exists()


def test_a_malformed_login_body_is_400(fund_manager):
    response = APIClient().post(TOKEN_URL, data=b"{", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# --- Sessions --------------------------------------------------------------------------------


def test_a_session_authenticates_reads(leader):
    client = APIClient()
    client.force_login(leader)

    response = client.get("/api/v1/countries/HTI/")

    assert response.status_code == 200
    assert response.json()["code"] == "HTI"


def test_a_session_write_needs_the_csrf_token(fund_manager):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(fund_manager)
    second_factor_given(client, fund_manager)
    body = {"code": "SESS", "name": "Made in a session", "kind": "private"}

    refused = client.post("/api/v1/partners/", body, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not Partner.objects.filter(code="SESS").exists()

    csrf = _get_new_csrf_string()
    client.cookies["csrftoken"] = csrf
    accepted = client.post("/api/v1/partners/", body, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 201
    assert Partner.objects.filter(code="SESS").exists()


def test_after_logout_the_session_is_gone(leader):
    client = APIClient()
    client.force_login(leader)
    client.logout()

    assert client.get("/api/v1/partners/").status_code == 401


# --- Login throttling ------------------------------------------------------------------------


@override_settings(AXES_FAILURE_LIMIT=5)
def test_five_wrong_passwords_lock_the_username_out(leader):
    client = APIClient()

    answers = [_login("ttl", f"wrong-{i}", client).status_code for i in range(5)]
    right = _login("ttl", PASSWORD, client)

    # The fifth failure reaches the limit and is itself answered 429.
    assert answers == [400, 400, 400, 400, 429]
    assert right.status_code == 429
    assert right.json()["code"] == "throttled"
    assert int(right["Retry-After"]) > 0
    assert "token" not in right.json()
    assert not Token.objects.exists()


@override_settings(AXES_FAILURE_LIMIT=5)
def test_four_wrong_passwords_do_not(leader):
    for i in range(4):
        _login("ttl", f"wrong-{i}")

    assert _login("ttl", PASSWORD).status_code == 200


@override_settings(AXES_FAILURE_LIMIT=5)
def test_the_lockout_is_for_that_username_from_that_address(leader, leader2):
    for i in range(5):
        _login("ttl", f"wrong-{i}")

    assert _login("ttl2", PASSWORD).status_code == 200
    assert _login("ttl", PASSWORD, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert _login("ttl", PASSWORD).status_code == 429


@override_settings(AXES_FAILURE_LIMIT=5, AXES_COOLOFF_TIME=0.25)
def test_after_the_cool_off_the_right_password_works_again(leader):
    for i in range(5):
        _login("ttl", f"wrong-{i}")
    assert _login("ttl", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert _login("ttl", PASSWORD).status_code == 200


@override_settings(AXES_FAILURE_LIMIT=5)
def test_a_locked_out_user_keeps_a_token_already_issued(leader):
    token = _login("ttl", PASSWORD).json()["token"]
    for i in range(5):
        _login("ttl", f"wrong-{i}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    # Throttling guards passwords; a token obtained before stays valid until revoked.
    assert client.get("/api/v1/partners/").status_code == 200
