"""The admin's user pages do not go around the services (issue 14, point 5): a change of
roles (groups), a deactivation or a new password made there ends the user's API token,
as create_seetf_user and the web's password change do. On main the admin kept it."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEntry
from partners.roles import Role

pytestmark = pytest.mark.django_db


def change_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "",
        "is_superuser": "",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "user_permissions": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def works(key) -> bool:
    return (
        APIClient(headers={"Authorization": f"Token {key}"}).get("/api/v1/fund/").status_code == 200
    )


@pytest.mark.parametrize("change", ["a-role-added", "deactivated"])
def test_a_role_change_in_the_admin_ends_the_token(admin_client, admin_user, leader, change):
    key = Token.objects.create(user=leader).key
    if change == "a-role-added":
        groups = [
            str(g.pk)
            for g in Group.objects.filter(name__in=[Role.TASK_TEAM_LEADER, Role.FUND_MANAGER])
        ]
        data = change_form(leader, groups=groups)
    else:
        data = change_form(leader, is_active="")

    response = admin_client.post(f"/admin/auth/user/{leader.pk}/change/", data)

    assert response.status_code == 302, response.content[:2000]
    assert not works(key)
    assert not Token.objects.filter(user=leader).exists()
    entry = AuditEntry.objects.get(action="user.roles", object_id=str(leader.pk))
    assert entry.actor == admin_user


def test_an_email_change_keeps_it(admin_client, leader):
    key = Token.objects.create(user=leader).key

    response = admin_client.post(
        f"/admin/auth/user/{leader.pk}/change/", change_form(leader, email="new@example.org")
    )

    assert response.status_code == 302
    assert works(key)


def test_a_new_password_in_the_admin_ends_the_token(admin_client, leader):
    key = Token.objects.create(user=leader).key

    response = admin_client.post(
        f"/admin/auth/user/{leader.pk}/password/",
        {
            "password1": "another-long-password-1",
            "password2": "another-long-password-1",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    leader.refresh_from_db()
    assert leader.check_password("another-long-password-1")
    assert not works(key)
