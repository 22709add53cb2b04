"""Sessions end after SEETF_SESSION_IDLE_MINUTES without a request (issue 14, point 5: on
main a session lasted 14 days however long it sat unused)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

pytestmark = pytest.mark.django_db


@override_settings(SEETF_SESSION_IDLE_MINUTES=30)
def test_an_idle_session_is_ended(web, leader):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = web(leader)
        assert client.get("/grants/").status_code == 200

    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = client.get("/grants/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")
        assert client.get("/api/v1/fund/").status_code == 401


@override_settings(SEETF_SESSION_IDLE_MINUTES=30)
def test_activity_keeps_it(web, leader):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = web(leader)
    for minutes in (20, 40, 60, 80):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/grants/").status_code == 200, minutes


@override_settings(SEETF_SESSION_IDLE_MINUTES=30)
def test_the_api_with_a_session_too(web, leader):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = web(leader)
    with time_machine.travel(start + timedelta(minutes=45), tick=False):
        assert client.get("/api/v1/fund/").status_code == 401


def test_the_settings(settings):
    assert settings.SEETF_SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_COOKIE_AGE == 14 * 24 * 3600
