"""Lockout keyed on the real client (issue 14, point 5). On main django-axes took
REMOTE_ADDR: behind a TLS proxy every client had the proxy's address, so five wrong
passwords from anyone locked a username out for everyone; and spraying one password over
many usernames from one address was never limited."""

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.models import LoginOutcome, LoginRecord

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
PROXY = "10.0.0.1"  # the TLS proxy every request comes through
BEHIND_A_PROXY = override_settings(
    SEETF_TRUSTED_PROXY_HEADER="HTTP_X_FORWARDED_FOR",
    SEETF_TRUSTED_PROXY_COUNT=1,
    AXES_FAILURE_LIMIT=5,
    SEETF_ADDRESS_FAILURE_LIMIT=20,
)


def token_login(username, password, client_address):
    return APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_address,
    )


def web_login(username, password, client_address):
    return Client().post(
        "/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_address,
    )


@BEHIND_A_PROXY
def test_behind_a_proxy_clients_do_not_lock_each_other_out(leader):
    for i in range(5):
        token_login("ttl", f"wrong-{i}", "203.0.113.9")

    assert token_login("ttl", PASSWORD, "203.0.113.9").status_code == 429
    # Another client, through the same proxy: not locked.
    assert token_login("ttl", PASSWORD, "198.51.100.4").status_code == 200
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


@BEHIND_A_PROXY
def test_five_failures_lock_that_user_from_that_address_only(leader, leader2):
    for i in range(5):
        web_login("ttl", f"wrong-{i}", "203.0.113.9")

    assert web_login("ttl", PASSWORD, "203.0.113.9").status_code == 429
    assert web_login("ttl2", PASSWORD, "203.0.113.9").status_code == 302  # another user
    assert web_login("ttl", PASSWORD, "198.51.100.4").status_code == 302  # another address


@BEHIND_A_PROXY
def test_spraying_twenty_usernames_from_one_address_is_locked(leader):
    answers = [
        token_login(f"user-{i}", "Summer2026!", "203.0.113.66").status_code for i in range(20)
    ]

    assert answers[:19] == [400] * 19
    # Even a real user's right password is refused from that address now...
    assert token_login("ttl", PASSWORD, "203.0.113.66").status_code == 429
    assert web_login("ttl", PASSWORD, "203.0.113.66").status_code == 429
    assert (
        LoginRecord.objects.filter(address="203.0.113.66", outcome=LoginOutcome.LOCKED).count() >= 2
    )
    # ...but not from another address.
    assert token_login("ttl", PASSWORD, "198.51.100.4").status_code == 200


@BEHIND_A_PROXY
def test_the_per_address_limit_survives_an_axes_reset(leader):
    for i in range(20):
        token_login(f"user-{i}", "x", "203.0.113.66")

    reset()  # what `manage.py axes_reset` does

    assert not AccessAttempt.objects.exists()
    assert token_login("ttl", PASSWORD, "203.0.113.66").status_code == 429


@BEHIND_A_PROXY
def test_a_client_cannot_choose_its_address(leader):
    """Entries left of the proxy's own are the client's to write: only the last counts."""
    for i in range(5):
        APIClient().post(
            "/api/v1/auth/token/",
            {"username": "ttl", "password": f"wrong-{i}"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.9",
        )

    assert token_login("ttl", PASSWORD, "203.0.113.9").status_code == 429


def test_axes_takes_the_audit_logs_address(settings):
    assert settings.AXES_CLIENT_IP_CALLABLE == "accounts.backends.axes_client_ip"
