"""Logging in and out, changing one's password; forms carry their CSRF token; django-axes
counts failed logins made through the page."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.web.pages import field_errors, form_data, page

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


def _login(client, username, password, next_url=""):
    form = page(client.get(f"/login/?next={next_url}" if next_url else "/login/"))
    data = form_data(form, "login-form", username=username, password=password)
    return client.post("/login/", data)


def test_a_user_logs_in_and_lands_on_their_home(leader):
    client = Client(enforce_csrf_checks=True)
    response = _login(client, "ttl", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    page(client.get("/")).testid("leader-home")


def test_login_goes_back_to_the_page_asked_for(leader):
    client = Client(enforce_csrf_checks=True)
    response = _login(client, "ttl", PASSWORD, next_url="/grants/")
    assert response["Location"] == "/grants/"


def test_a_wrong_password_is_explained_keeps_the_username_and_is_counted(leader):
    client = Client(enforce_csrf_checks=True)
    response = _login(client, "ttl", "wrong-password")
    assert response.status_code == 200
    root = page(response)
    assert "enter a correct username and password" in root.testid("form-errors").text
    assert root.find("input", name="username").attrs["value"] == "ttl"
    assert AccessAttempt.objects.filter(username="ttl").get().failures_since_start == 1


def test_too_many_failures_lock_the_login(leader, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "ttl", "wrong-password")
    response = _login(client, "ttl", PASSWORD)
    assert response.status_code == 429


def test_logging_out_is_a_post(web, leader):
    client = web(leader)
    assert client.get("/logout/").status_code == 405
    root = page(client.get("/"))
    data = form_data(root, "logout-form")
    response = client.post("/logout/", data)
    assert response.status_code == 302
    assert page(client.get(response["Location"])).testid("flash-success").text == (
        "You are logged out."
    )
    assert client.get("/grants/").status_code == 302


def test_a_user_changes_their_password(leader):
    client = Client(enforce_csrf_checks=True)
    _login(client, "ttl", PASSWORD)
    form = page(client.get("/password/"))
    data = form_data(
        form,
        "password-form",
        old_password="not-it",
        new_password1="another-long-password-42",
        new_password2="another-long-password-42",
    )
    root = page(client.post("/password/", data))
    assert field_errors(root, "id_old_password") == [
        "Your old password was entered incorrectly. Please enter it again."
    ]
    data = form_data(root, "password-form", old_password=PASSWORD)
    data.update(new_password1="another-long-password-42", new_password2="another-long-password-42")
    response = client.post("/password/", data)
    assert response.status_code == 302
    assert page(client.get("/")).testid("flash-success").text == "Your password was changed."
    leader.refresh_from_db()
    assert leader.check_password("another-long-password-42")


def test_every_form_of_a_page_carries_its_csrf_token(web, fund_manager):
    root = page(web(fund_manager).get("/partners/new/"))
    for form in root.find_all("form", method="post"):
        assert form.find("input", name="csrfmiddlewaretoken") is not None


def test_the_lockout_page_is_ready_for_axes_lockout_template(leader, settings):
    """With AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html" (a settings line for
    the lead to add), a locked-out login gets the site's layout."""
    settings.AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "ttl", "wrong-password")
    response = _login(client, "ttl", PASSWORD)
    assert response.status_code == 429
    root = page(response)
    assert root.testid("error-title").text == "Too many failed logins"
    assert root.find("main", id="main") is not None
