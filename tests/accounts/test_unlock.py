"""A fund manager unlocks a locked-out user from the user's page (issue 13, point 8): the
username's failed logins (django-axes) are removed, the login log keeps them, the
unlocking is in the audit log with its reason; nobody else may, nor on themselves."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from accounts.models import LoginOutcome, LoginRecord
from audit.models import AuditEntry
from tests.web.pages import page

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"


def web_login(username, password):
    return Client().post("/login/", {"username": username, "password": password})


def test_a_fund_manager_unlocks_a_locked_out_leader(leader, fund_manager, web, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        web_login("ttl", "wrong")
    locked = web_login("ttl", PASSWORD)
    assert locked.status_code == 429
    assert "unlock your account from its page" in locked.content.decode()

    client = web(fund_manager)
    root = page(client.get("/users/ttl/"))
    assert root.testid("lockout-state").attrs["data-locked"] == "true"
    # The reason is required: nothing is lifted without it.
    refused = client.post("/users/ttl/unlock/", {"reason": ""})
    assert refused.status_code == 200
    assert AccessAttempt.objects.filter(username="ttl").exists()
    response = client.post("/users/ttl/unlock/", {"reason": "Called, identified by phone."})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="ttl").exists()
    assert page(client.get("/users/ttl/")).testid("lockout-state").attrs["data-locked"] == "false"
    entry = AuditEntry.objects.get(action="user.unlock")
    assert (entry.actor, entry.object_id, entry.reason) == (
        fund_manager,
        str(leader.pk),
        "Called, identified by phone.",
    )
    assert entry.changes["failed_logins"][1] == 0 and entry.changes["failed_logins"][0] >= 1
    # The login log keeps every failure; the leader signs in again.
    refused_logins = LoginRecord.objects.filter(username="ttl").exclude(
        outcome=LoginOutcome.SUCCESS
    )
    assert refused_logins.count() == 4  # three wrong passwords, one while locked
    assert web_login("ttl", PASSWORD).status_code == 302


@pytest.mark.parametrize("who", ["leader", "donor", None])
def test_only_fund_managers_see_and_unlock(who, leader2, web, fund_manager):
    client = web(who)
    page_answer = client.get("/users/ttl2/")
    unlock = client.post("/users/ttl2/unlock/", {"reason": "x"})
    if who is None:
        assert page_answer.status_code == 302 and unlock.status_code == 302  # to the login
    else:
        assert page_answer.status_code == 403 and unlock.status_code == 403
    assert not AuditEntry.objects.filter(action="user.unlock").exists()


def test_a_fund_manager_does_not_unlock_themselves(fund_manager, web):
    response = web(fund_manager).post("/users/fm/unlock/", {"reason": "Me."})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="user.unlock").exists()


def test_an_unknown_user_is_a_404(fund_manager, web):
    assert web(fund_manager).get("/users/nobody-such/").status_code == 404
