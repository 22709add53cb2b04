"""Two-factor sign-in on the web (issue 14, point 5): fund managers (and every role of
SEETF_TWO_FACTOR_ROLES, superusers too) give a TOTP code after their password before any
page works; without an authenticator they set one up first and get ten recovery codes,
shown once. On main a fund manager's password alone opened every page."""

import re
from base64 import b32encode

import pytest
from django.test import Client, override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import LoginMethod, LoginOutcome, LoginRecord
from audit.models import AuditEntry
from partners.roles import Role
from tests.accounts.codes import current_code
from tests.conftest import second_factor_device

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


def signed_in(username, client=None) -> Client:
    """A client that typed the username and password on the login page."""
    client = client or Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def setup_code(user) -> str:
    """The code the app shows for the authenticator being set up."""
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


# --- Before the second factor, no page ------------------------------------------------------


@pytest.mark.parametrize("page", ["/", "/grants/", "/partners/", "/admin/", "/account/"])
def test_a_fund_manager_with_an_authenticator_reaches_no_page_before_the_code(fund_manager, page):
    second_factor_device(fund_manager)
    client = signed_in("fm")

    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/two-factor/?next=")


def test_nor_the_api_with_that_session(fund_manager):
    second_factor_device(fund_manager)
    client = signed_in("fm")

    response = client.get("/api/v1/grants/")

    assert response.status_code == 401
    assert response.json()["code"] == "two_factor_required"


def test_the_right_code_opens_the_pages_and_is_logged(fund_manager):
    second_factor_device(fund_manager)
    client = signed_in("fm")

    response = client.post(
        "/login/two-factor/", {"code": current_code(fund_manager), "next": "/grants/"}
    )

    assert response.status_code == 302 and response["Location"] == "/grants/"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/grants/").status_code == 200
    assert LoginRecord.objects.filter(
        user=fund_manager, method=LoginMethod.OTP, outcome=LoginOutcome.SUCCESS
    ).exists()


def test_a_wrong_code_is_refused_and_logged(fund_manager):
    second_factor_device(fund_manager)
    client = signed_in("fm")

    response = client.post("/login/two-factor/", {"code": "000000"})

    assert response.status_code == 200
    assert "not right" in response.content.decode()
    assert client.get("/").status_code == 302
    assert (
        LoginRecord.objects.filter(
            user=fund_manager, method=LoginMethod.OTP, outcome=LoginOutcome.OTP_FAILED
        ).count()
        == 1
    )


def test_after_a_wrong_code_the_device_makes_the_next_try_wait(fund_manager):
    second_factor_device(fund_manager)
    client = signed_in("fm")
    client.post("/login/two-factor/", {"code": "000000"})

    # django-otp's throttle: even the right code is refused for a moment after a wrong one.
    response = client.post("/login/two-factor/", {"code": current_code(fund_manager)})

    assert response.status_code == 200
    assert re.search(r"wait \d+ seconds", response.content.decode())
    assert client.get("/").status_code == 302


@override_settings(SEETF_OTP_FAILURE_LIMIT=3, OTP_TOTP_THROTTLE_FACTOR=0)
def test_too_many_wrong_codes_end_the_session(fund_manager):
    second_factor_device(fund_manager)
    client = signed_in("fm")

    answers = [client.post("/login/two-factor/", {"code": "000000"}) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 302]
    assert answers[-1]["Location"] == "/login/"
    # Signed out: the password again (which django-axes counts), then the code.
    assert client.get("/login/two-factor/").status_code == 302
    assert client.get("/").status_code == 200  # the public home
    assert "Signed in as" not in client.get("/").content.decode()


def test_a_recovery_code_works_once(fund_manager):
    second_factor_device(fund_manager)
    device = StaticDevice.objects.create(user=fund_manager, name="recovery codes")
    device.token_set.create(token="abcd2345")
    first, second = signed_in("fm"), signed_in("fm")

    used = first.post("/login/two-factor/", {"code": "ABCD 2345"})
    again = second.post("/login/two-factor/", {"code": "abcd2345"})

    assert used.status_code == 302 and first.get("/").status_code == 200
    assert again.status_code == 200 and second.get("/").status_code == 302
    assert not StaticToken.objects.exists()


# --- Setting one up -----------------------------------------------------------------------------


def test_a_fund_manager_without_one_is_sent_to_set_it_up(fund_manager):
    client = signed_in("fm")

    response = client.get("/grants/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/two-factor/setup/?next=")
    page = client.get(response["Location"])
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=fund_manager, confirmed=False)
    secret = page.context["secret"].replace(" ", "")
    assert secret == b32encode(device.bin_key).decode()
    # The same secret on a reload: the app keeps what it was given.
    assert client.get("/login/two-factor/setup/").context["secret"].replace(" ", "") == secret


def test_the_qr_code_is_an_svg_of_the_otpauth_url_not_cached(fund_manager):
    client = signed_in("fm")

    response = client.get("/login/two-factor/setup/qr.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<?xml") or b"<svg" in response.content[:200]
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_confirming_with_a_code_gives_ten_recovery_codes_shown_once(fund_manager):
    client = signed_in("fm")
    client.get("/login/two-factor/setup/")

    wrong = client.post("/login/two-factor/setup/", {"code": "000000"})
    assert wrong.status_code == 200 and "not the one the app shows" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=fund_manager, confirmed=True).exists()

    response = client.post(
        "/login/two-factor/setup/", {"code": setup_code(fund_manager), "next": "/grants/"}
    )

    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert set(
        StaticToken.objects.filter(device__user=fund_manager).values_list("token", flat=True)
    ) == set(codes)
    assert TOTPDevice.objects.get(user=fund_manager).confirmed
    assert client.get("/grants/").status_code == 200  # this session gave its code
    assert AuditEntry.objects.filter(
        action="user.two_factor_enrol", object_id=str(fund_manager.pk)
    ).exists()
    # Shown once: the account page says how many are left, not what they are.
    account = client.get("/account/").content.decode()
    assert "10 recovery codes left" in account
    assert codes[0] not in account


def test_with_an_authenticator_and_no_code_one_cannot_set_up_another(fund_manager, leader):
    """Else a stolen password would replace the owner's authenticator."""
    second_factor_device(fund_manager)
    client = signed_in("fm")

    assert client.get("/login/two-factor/setup/")["Location"].startswith("/login/two-factor/")
    assert client.get("/login/two-factor/setup/qr.svg").status_code == 403
    assert TOTPDevice.objects.filter(user=fund_manager).count() == 1


# --- Other roles ----------------------------------------------------------------------------------


def test_a_task_team_leader_signs_in_with_a_password_only(leader):
    assert signed_in("ttl").get("/").status_code == 200


def test_who_must_is_the_setting(leader):
    with override_settings(SEETF_TWO_FACTOR_ROLES=[Role.TASK_TEAM_LEADER]):
        assert signed_in("ttl").get("/")["Location"].startswith("/login/two-factor/setup/")


def test_a_window_manager_must_by_default(settings):
    assert "window_manager" in settings.SEETF_TWO_FACTOR_ROLES
    assert "fund_manager" in settings.SEETF_TWO_FACTOR_ROLES


def test_a_superuser_must(superuser):
    assert signed_in("root").get("/admin/")["Location"].startswith("/login/two-factor/setup/")


def test_anyone_may_set_one_up_and_then_signs_in_with_it(leader):
    client = signed_in("ttl")
    assert client.get("/account/").status_code == 200
    client.get("/login/two-factor/setup/")
    client.post("/login/two-factor/setup/", {"code": setup_code(leader)})

    later = signed_in("ttl")

    assert later.get("/")["Location"].startswith("/login/two-factor/?next=")
    later.post("/login/two-factor/", {"code": current_code(leader)})
    assert later.get("/").status_code == 200


# --- A lost phone: another fund manager resets it ---------------------------------------


def test_a_fund_manager_resets_another_users_second_factor(web, fund_manager, fund_manager2):
    second_factor_device(fund_manager2)
    StaticDevice.objects.create(user=fund_manager2, name="recovery codes")

    response = web(fund_manager).post(
        "/logins/reset-two-factor/", {"username": "fm2", "reason": "lost phone"}
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=fund_manager2).exists()
    assert not StaticDevice.objects.filter(user=fund_manager2).exists()
    entry = AuditEntry.objects.get(action="user.two_factor_reset")
    assert entry.actor == fund_manager and entry.reason == "lost phone"
    assert signed_in("fm2").get("/")["Location"].startswith("/login/two-factor/setup/")


@pytest.mark.parametrize("who", ["leader", "donor", "no_role"])
def test_only_fund_managers_reset_one(web, who, fund_manager2):
    second_factor_device(fund_manager2)

    response = web(who).post("/logins/reset-two-factor/", {"username": "fm2", "reason": "x"})

    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=fund_manager2).exists()


def test_not_ones_own(web, fund_manager):
    response = web(fund_manager).post(
        "/logins/reset-two-factor/", {"username": "fm", "reason": "x"}
    )

    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=fund_manager).exists()


def test_a_voluntary_second_factor_reset_leaves_a_password_only_sign_in(web, leader):
    second_factor_device(leader)
    client = signed_in("ttl")
    assert client.get("/").status_code == 302

    TOTPDevice.objects.filter(user=leader).delete()  # what a reset does

    assert client.get("/").status_code == 200
