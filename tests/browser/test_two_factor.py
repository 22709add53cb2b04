"""A fund manager signs in with two factors in a real browser (issue 14, point 5): the
first time they set up an authenticator (the key as text and a QR code, a code to
confirm, ten recovery codes); later they type its code. A wrong code is refused. The
pages load no inline script (they pass the Content-Security-Policy) and are accessible."""

from urllib.parse import urlsplit

import pytest

from partners.roles import Role
from partners.services import user_create_or_update
from tests.browser.conftest import PASSWORD, assert_accessible, code_for, label

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def amina(transactional_db):
    return user_create_or_update(
        username="amina", roles=[Role.FUND_MANAGER], password=PASSWORD, email="a@example.org"
    )


def password_step(window, username):
    page = window.go("/login/")
    form = page.get_by_test_id("login-form")
    form.get_by_label(label("Username")).fill(username)
    form.get_by_label(label("Password")).fill(PASSWORD)
    window.click(form.get_by_role("button", name="Log in"))
    return page


def test_a_fund_manager_sets_up_a_second_factor_then_signs_in_with_it(amina, browser):
    first = browser.window()
    page = password_step(first, "amina")

    # No authenticator yet: set one up before any page.
    assert urlsplit(page.url).path == "/login/two-factor/setup/"
    qr = page.get_by_test_id("two-factor-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert_accessible(page, "second factor set-up")
    # A wrong code is refused, and the set-up page stays.
    form = page.get_by_test_id("two-factor-setup-form")
    form.get_by_label(label("Code")).fill("000000")
    first.click(form.get_by_role("button", name="Confirm"))
    assert urlsplit(page.url).path == "/login/two-factor/setup/"
    assert "not the one the app shows" in page.get_by_test_id("two-factor-setup-form").inner_text()

    codes = first.set_up_second_factor()

    assert len(codes) == 10
    assert urlsplit(page.url).path == "/"
    assert "Signed in as amina" in page.locator(".site-user").inner_text()
    assert page.get_by_role("heading", level=1).count() >= 1

    # Later, in another browser: the password, then the code.
    second = browser.window()
    page = password_step(second, "amina")
    assert urlsplit(page.url).path == "/login/two-factor/"
    assert_accessible(page, "second factor")
    second.go("/grants/")  # no page before the code: back to it
    assert urlsplit(page.url).path == "/login/two-factor/"

    second.give_code("000000")
    assert urlsplit(page.url).path == "/login/two-factor/"
    assert "not right" in page.get_by_test_id("two-factor-form").inner_text()

    # django-otp makes the next try wait a moment after a wrong code.
    page.wait_for_timeout(2100)
    second.give_code(code_for("amina"))
    assert urlsplit(page.url).path == "/grants/"
    assert "Signed in as amina" in page.locator(".site-user").inner_text()


def test_a_recovery_code_signs_in_once(amina, browser):
    window = browser.window()
    page = password_step(window, "amina")
    assert urlsplit(page.url).path == "/login/two-factor/setup/", page.url
    codes = window.set_up_second_factor()

    other = browser.window()
    page = password_step(other, "amina")
    other.give_code(codes[0])

    assert urlsplit(page.url).path == "/"
    assert "9 left" in page.get_by_test_id("flash-warning").inner_text()
