"""Ending API tokens (API.md Authentication; issue 14, point 5): ``POST
/api/v1/auth/token/revoke/`` revokes the token it is sent with (204, then that token gets
401); a new password or new roles end the user's tokens (``partners.services.
user_tokens_revoke``), whether set by ``create_seetf_user`` or the web's password change."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.policy import two_factor_required
from partners.roles import Role
from tests.accounts.codes import current_code
from tests.factories import PartnerFactory
from tests.partners.conftest import ROLES

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"  # what tests/conftest.py's make_user gives
REVOKE_URL = "/api/v1/auth/token/revoke/"
A_READ = "/api/v1/countries/HTI/"  # every role but "no role" may read it


def token_client(user) -> tuple[APIClient, str]:
    key = Token.objects.get_or_create(user=user)[0].key
    return APIClient(headers={"Authorization": f"Token {key}"}), key


def login(username, password=PASSWORD):
    """A token for the username; with the current code of their authenticator for a
    user who signs in with two factors (a fund manager)."""
    body = {"username": username, "password": password}
    user = get_user_model().objects.get(username=username)
    if two_factor_required(user):
        body["otp"] = current_code(user)
    return APIClient().post("/api/v1/auth/token/", body, format="json")


# --- The revoke endpoint -----------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_every_role_revokes_its_own_token_which_then_gets_401(role, user_for):
    user = user_for(role)
    client, key = token_client(user)

    response = client.post(REVOKE_URL)

    assert response.status_code == 204
    assert response.content == b""
    assert not Token.objects.filter(key=key).exists()
    after = client.get(A_READ)
    assert after.status_code == 401
    assert after.json()["code"] == "authentication_failed"
    assert client.post(REVOKE_URL).status_code == 401  # a second revoke: no such token


def test_anonymous_gets_401_and_nothing_is_revoked(anon, fund_manager):
    Token.objects.create(user=fund_manager)

    response = anon.post(REVOKE_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert Token.objects.filter(user=fund_manager).exists()


def test_a_web_session_has_no_token_to_revoke_400(web, fund_manager):
    Token.objects.create(user=fund_manager)
    client = web(fund_manager, enforce_csrf_checks=True)
    csrf = _get_new_csrf_string()
    client.cookies["csrftoken"] = csrf

    response = client.post(REVOKE_URL, HTTP_X_CSRFTOKEN=csrf)

    assert response.status_code == 400
    assert response.json()["code"] == "no_token"
    assert "Authorization: Token" in response.json()["detail"]
    assert Token.objects.filter(user=fund_manager).exists()


def test_only_the_token_sent_is_revoked(fund_manager, leader):
    mine, _ = token_client(fund_manager)
    theirs, _ = token_client(leader)

    assert mine.post(REVOKE_URL).status_code == 204

    assert theirs.get(A_READ).status_code == 200


def test_after_revoking_a_new_login_gives_a_new_token_that_works(fund_manager):
    old = login("fm").json()["token"]
    client = APIClient(headers={"Authorization": f"Token {old}"})
    assert client.post(REVOKE_URL).status_code == 204

    new = login("fm").json()["token"]

    assert new != old
    assert APIClient(headers={"Authorization": f"Token {new}"}).get(A_READ).status_code == 200
    assert client.get(A_READ).status_code == 401


# --- Rotation on a new password or new roles ------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"password": "another-long-password"},
        {"roles": [Role.FUND_MANAGER, Role.TASK_TEAM_LEADER]},
        {"roles": [Role.TASK_TEAM_LEADER]},
    ],
    ids=["new-password", "a-role-added", "a-role-replaced"],
)
def test_a_new_password_or_new_roles_end_the_users_token(change, make_user, fund_manager):
    client, _ = token_client(fund_manager)
    assert client.get(A_READ).status_code == 200

    make_user("fm", *change.get("roles", [Role.FUND_MANAGER]), password=change.get("password"))

    assert client.get(A_READ).status_code == 401
    assert not Token.objects.filter(user=fund_manager).exists()
    if "password" in change:
        assert login("fm", change["password"]).status_code == 200


def test_a_donor_moved_to_another_partner_loses_their_token(make_user, donor):
    client, _ = token_client(donor)

    make_user("donor", Role.DONOR, partner=PartnerFactory(code="OTHR"), password=None)

    assert client.get(A_READ).status_code == 401


def test_the_same_roles_and_no_new_password_keep_the_token(make_user, fund_manager, donor):
    fm_client, _ = token_client(fund_manager)
    donor_client, _ = token_client(donor)

    # Updating the e-mail only (make_user gives one; no password: keep theirs).
    make_user("fm", Role.FUND_MANAGER, password=None)
    make_user("donor", Role.DONOR, partner=donor.partner_membership.partner, password=None)

    assert fm_client.get(A_READ).status_code == 200
    assert donor_client.get(A_READ).status_code == 200


def test_create_seetf_user_with_a_new_password_ends_the_token(fund_manager, capsys):
    client, _ = token_client(fund_manager)

    call_command(
        "create_seetf_user", "fm", "--role", "fund_manager", "--password", "yet-another-secret"
    )

    assert client.get(A_READ).status_code == 401


def test_a_refused_password_changes_nothing_and_keeps_the_token(make_user, fund_manager):
    client, _ = token_client(fund_manager)

    with pytest.raises(Exception, match="too short"):
        make_user("fm", Role.TASK_TEAM_LEADER, password="abc")

    assert client.get(A_READ).status_code == 200
    fund_manager.refresh_from_db()
    assert fund_manager.check_password(PASSWORD)
    assert list(fund_manager.groups.values_list("name", flat=True)) == [Role.FUND_MANAGER]


# --- The web's password change -------------------------------------------------------------


def test_changing_the_password_on_the_web_ends_the_token(web, fund_manager):
    client, _ = token_client(fund_manager)
    browser = web(fund_manager)
    new = "a-brand-new-password"

    response = browser.post(
        "/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302
    assert client.get(A_READ).status_code == 401
    fund_manager.refresh_from_db()
    assert fund_manager.check_password(new)
    assert browser.get("/grants/").status_code == 200  # still signed in on the web


def test_a_refused_web_password_change_keeps_the_token(web, fund_manager):
    client, _ = token_client(fund_manager)

    response = web(fund_manager).post(
        "/password/",
        {"old_password": "wrong", "new_password1": "x-new-pass-1", "new_password2": "x-new-pass-1"},
    )

    assert response.status_code == 200  # the form again, with its error
    assert client.get(A_READ).status_code == 200
