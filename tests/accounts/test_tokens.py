"""API tokens (issue 14, point 5): a user who signs in with two factors gets a token only
with a current code (`otp`); tokens live SEETF_TOKEN_LIFETIME_HOURS (on main they never
expired); obtaining one updates `last_login` and is logged (on main neither); each user
lists their own tokens, never the whole key."""

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import LoginMethod, LoginOutcome, LoginRecord
from tests.accounts.codes import current_code
from tests.conftest import second_factor_device

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
TOKEN_URL = "/api/v1/auth/token/"
LIST_URL = "/api/v1/auth/tokens/"


def obtain(username, **extra):
    return APIClient().post(TOKEN_URL, {"username": username, "password": PASSWORD, **extra})


# --- A second factor for the people who move money -------------------------------------------


def test_a_fund_manager_without_a_code_gets_no_token(fund_manager):
    second_factor_device(fund_manager)

    response = obtain("fm")

    assert response.status_code == 400
    assert "otp" in response.json()
    assert not Token.objects.exists()
    assert LoginRecord.objects.filter(
        user=fund_manager, method=LoginMethod.TOKEN, outcome=LoginOutcome.OTP_FAILED
    ).exists()


def test_nor_with_a_wrong_one(fund_manager):
    second_factor_device(fund_manager)

    response = obtain("fm", otp="000000")

    assert response.status_code == 400 and "otp" in response.json()
    assert not Token.objects.exists()


def test_nor_before_setting_one_up_on_the_web(fund_manager):
    response = obtain("fm", otp="123456")

    assert response.status_code == 400
    assert "set one up" in response.json()["otp"][0]


def test_with_the_current_code_a_token(fund_manager):
    second_factor_device(fund_manager)

    response = obtain("fm", otp=current_code(fund_manager))

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=fund_manager).key}


def test_a_leader_needs_no_code(leader):
    assert obtain("ttl").status_code == 200


# --- Logged, and last_login -----------------------------------------------------------------


def test_a_token_login_updates_last_login_and_is_logged(leader):
    assert leader.last_login is None

    response = APIClient().post(
        TOKEN_URL,
        {"username": "ttl", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.7",
        HTTP_USER_AGENT="a-script/1.0",
    )

    assert response.status_code == 200
    leader.refresh_from_db()
    assert leader.last_login is not None
    record = LoginRecord.objects.get(user=leader)
    assert (record.method, record.outcome, record.address, record.user_agent) == (
        LoginMethod.TOKEN,
        LoginOutcome.SUCCESS,
        "192.0.2.7",
        "a-script/1.0",
    )


def test_a_failed_token_login_is_logged(leader):
    APIClient().post(TOKEN_URL, {"username": "ttl", "password": "wrong"})

    record = LoginRecord.objects.get()
    assert (record.username, record.user, record.method, record.outcome) == (
        "ttl",
        leader,
        LoginMethod.TOKEN,
        LoginOutcome.FAILURE,
    )


# --- A lifetime ----------------------------------------------------------------------------------


@override_settings(SEETF_TOKEN_LIFETIME_HOURS=24)
def test_a_token_expires_after_its_lifetime_then_a_new_one_is_given(leader):
    key = obtain("ttl").json()["token"]
    client = APIClient(headers={"Authorization": f"Token {key}"})
    assert client.get("/api/v1/fund/").status_code == 200

    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert client.get("/api/v1/fund/").status_code == 200
        assert obtain("ttl").json()["token"] == key
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        expired = client.get("/api/v1/fund/")
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]
        new = obtain("ttl").json()["token"]
        assert new != key
        assert (
            APIClient(headers={"Authorization": f"Token {new}"}).get("/api/v1/fund/").status_code
            == 200
        )


def test_the_default_lifetime_is_thirty_days(settings):
    assert settings.SEETF_TOKEN_LIFETIME_HOURS == 24 * 30


# --- Listed for their owner ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["fund_manager", "leader", "donor", "no_role", "superuser"])
def test_each_user_lists_their_own_token_by_its_beginning_only(who, user_for, leader2):
    user = user_for(who)
    mine = Token.objects.create(user=user)
    Token.objects.create(user=leader2)
    client = APIClient(headers={"Authorization": f"Token {mine.key}"})

    response = client.get(LIST_URL)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["prefix"] for row in rows] == [mine.key[:8]]
    assert mine.key not in response.content.decode()
    expires = rows[0]["expires"]
    assert expires.startswith(str((mine.created + timedelta(hours=24 * 30)).date()))


def test_anonymous_lists_nothing(anon):
    assert anon.get(LIST_URL).status_code == 401


def test_right_after_a_wrong_code_the_device_makes_it_wait_429(fund_manager):
    second_factor_device(fund_manager)
    obtain("fm", otp="000000")

    response = obtain("fm", otp=current_code(fund_manager))

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert not Token.objects.exists()


def test_a_recovery_code_gives_a_token_once(fund_manager):
    second_factor_device(fund_manager)
    StaticDevice.objects.create(user=fund_manager, name="recovery codes").token_set.create(
        token="abcd2345"
    )

    assert obtain("fm", otp="abcd2345").status_code == 200
    assert obtain("fm", otp="abcd2345").status_code == 400
