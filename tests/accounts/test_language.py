"""The language of a request (README "Languages"): the browser's Accept-Language, the
header's switcher (Django's set_language: a cookie), and a signed-in user's saved
preference, which wins over both; the API follows the same choice, so DRF's and Django's
own messages (their catalogues ship with them) come translated; Arabic reads right to
left. No page spends a query on the preference (it is kept in the session)."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from accounts import selectors, services
from accounts.models import UserPreference
from tests.web.pages import page

pytestmark = pytest.mark.django_db

HTML_TAG = re.compile(r"<html[^>]*>")


def selected(node) -> list[str]:
    return [o.attrs["value"] for o in node.find_all("option") if "selected" in o.attrs]


def html_tag(response) -> str:
    return HTML_TAG.search(response.content.decode()).group(0)


def test_the_site_has_the_seven_languages_named_in_themselves():
    assert [code for code, _name in settings.LANGUAGES] == [
        "en", "es", "fr", "pt", "ru", "zh-hans", "ar",
    ]  # fmt: skip
    assert dict(settings.LANGUAGES)["fr"] == "Français"
    assert dict(settings.LANGUAGES)["ar"] == "العربية"
    assert settings.LANGUAGE_CODE == "en"
    middleware = settings.MIDDLEWARE
    locale = middleware.index("django.middleware.locale.LocaleMiddleware")
    assert middleware.index("django.contrib.sessions.middleware.SessionMiddleware") < locale
    assert locale < middleware.index("django.middleware.common.CommonMiddleware")
    assert middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") < (
        middleware.index("accounts.middleware.UserLanguageMiddleware")
    )


def test_without_accept_language_the_page_is_english_left_to_right():
    response = Client().get("/hub/")
    assert html_tag(response) == '<html lang="en">'
    assert response["Content-Language"] == "en"


@pytest.mark.parametrize(
    ("header", "lang"),
    [("fr-FR,fr;q=0.9,en;q=0.5", "fr"), ("es-CO", "es"), ("zh-CN", "zh-hans"), ("pt-BR", "pt")],
)
def test_the_browsers_accept_language_chooses_the_language(header, lang):
    response = Client(headers={"accept-language": header}).get("/hub/")
    assert html_tag(response) == f'<html lang="{lang}">'
    assert response["Content-Language"] == lang
    assert "Accept-Language" in response["Vary"]


def test_arabic_reads_right_to_left():
    response = Client(headers={"accept-language": "ar"}).get("/hub/")
    assert html_tag(response) == '<html lang="ar" dir="rtl">'
    assert translation.get_language_info("ar")["bidi"] is True


def test_every_page_has_the_switcher_a_form_posting_to_set_language():
    root = page(Client().get("/hub/"))
    form = root.testid("language-switcher")
    assert form.attrs["method"] == "post" and form.attrs["action"] == "/i18n/setlang/"
    assert form.find("input", name="csrfmiddlewaretoken") is not None
    assert form.find("input", name="next").attrs["value"] == "/hub/"
    options = {o.attrs["value"]: o.text for o in form.find_all("option")}
    assert options == dict(settings.LANGUAGES)
    assert selected(form) == ["en"]
    assert form.find("label").text == "Language"
    assert form.find("button").attrs["type"] == "submit"


def test_the_switcher_sets_the_cookie_for_a_visitor_and_goes_back():
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/hub/"})
    assert response.status_code == 302 and response["Location"] == "/hub/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert html_tag(client.get("/hub/")) == '<html lang="fr">'
    assert UserPreference.objects.count() == 0


def test_the_switcher_refuses_a_next_on_another_site():
    response = Client().post(
        "/i18n/setlang/", {"language": "fr", "next": "https://evil.example.org/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_switcher_is_csrf_protected():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/i18n/setlang/", {"language": "fr"}).status_code == 403


def test_the_switcher_saves_a_signed_in_users_preference(web, leader):
    client = web(leader)
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=leader).language == "es"
    assert client.session[services.SESSION_LANGUAGE] == "es"
    # The preference wins over the browser's language and the cookie.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.get("/", headers={"accept-language": "ru"})
    assert html_tag(response) == '<html lang="es">'


def test_a_saved_preference_wins_over_accept_language_from_the_next_login(make_user):
    user = make_user("ana", "task_team_leader")
    services.language_set(user=user, language="pt")
    client = Client(headers={"accept-language": "fr"})
    assert html_tag(client.get("/hub/")) == '<html lang="fr">'  # not signed in yet
    client.force_login(user)
    assert client.session[services.SESSION_LANGUAGE] == "pt"
    assert html_tag(client.get("/hub/")) == '<html lang="pt">'


def test_a_session_older_than_the_preference_reads_it_once(web, leader):
    services.language_set(user=leader, language="ru")
    client = web(leader)
    session = client.session
    del session[services.SESSION_LANGUAGE]
    session.save()
    assert html_tag(client.get("/")) == '<html lang="ru">'
    assert client.session[services.SESSION_LANGUAGE] == "ru"


def test_no_preference_follows_the_browser(web, leader):
    client = web(leader)
    assert html_tag(client.get("/", headers={"accept-language": "fr"})) == '<html lang="fr">'


def test_the_account_page_chooses_the_language_or_the_browser_again(web, leader):
    client = web(leader)
    select = page(client.get("/account/")).testid("account-language-select")
    options = [o.attrs["value"] for o in select.find_all("option")]
    assert options == ["", *[code for code, _name in settings.LANGUAGES]]
    assert selected(select) == [""]
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/account/"})
    select = page(client.get("/account/")).testid("account-language-select")
    assert selected(select) == ["zh-hans"]
    response = client.post("/i18n/setlang/", {"language": "", "next": "/account/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""  # deleted
    assert selectors.saved_language(leader) == ""
    assert html_tag(client.get("/", headers={"accept-language": "ar"})) == (
        '<html lang="ar" dir="rtl">'
    )


def test_a_language_not_of_the_site_is_not_saved(web, leader):
    client = web(leader)
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    assert response.status_code == 302
    assert not UserPreference.objects.filter(user=leader).exists()
    with pytest.raises(Exception, match="not a language of the site"):
        services.language_set(user=leader, language="de")


def test_the_preference_costs_no_query_on_a_page(web, leader, django_assert_num_queries):
    """The same page, the same queries, with a saved language or without."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = web(leader)
    client.get("/")
    with CaptureQueriesContext(connection) as without:
        client.get("/")
    services.language_set(user=leader, language="fr")
    client = web(leader)
    client.get("/")
    with CaptureQueriesContext(connection) as with_preference:
        response = client.get("/")
    assert html_tag(response) == '<html lang="fr">'
    assert len(with_preference) == len(without)


# --- The API ---------------------------------------------------------------------------


def _drf(message: str, language: str) -> str:
    with translation.override(language):
        return str(translation.gettext(message))


def test_the_apis_own_messages_follow_accept_language():
    english = "Authentication credentials were not provided."
    expected = _drf(english, "fr")
    assert expected != english  # DRF's own French catalogue
    response = Client(headers={"accept-language": "fr"}).get("/api/v1/grants/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == expected
    assert response["Content-Language"] == "fr"


def test_an_api_token_users_saved_language_wins(make_user):
    user = make_user("ana", "task_team_leader")
    services.language_set(user=user, language="es")
    token = services.token_issue(user=user)
    client = Client(headers={"authorization": f"Token {token.key}", "accept-language": "fr"})
    response = client.get("/api/v1/grants/")
    assert response.status_code == 200 and response["Content-Language"] == "es"


def test_an_invalid_token_is_refused_in_the_browsers_language():
    response = Client(headers={"authorization": "Token nope", "accept-language": "es"}).get(
        "/api/v1/grants/"
    )
    assert response.status_code == 401
    english = "Invalid token."
    expected = _drf(english, "es")
    assert expected != english
    assert response.json()["detail"] == expected


def test_a_signed_in_sessions_api_calls_follow_its_saved_language(web, leader):
    services.language_set(user=leader, language="ru")
    client = web(leader)
    response = client.get("/api/v1/grants/", headers={"accept-language": "fr"})
    assert response.status_code == 200 and response["Content-Language"] == "ru"
    # DRF's own validation messages, in the user's language (DRF's Russian catalogue).
    response = client.post("/api/v1/grants/", {}, content_type="application/json")
    assert response.status_code == 400
    english = "This field is required."
    expected = _drf(english, "ru")
    assert expected != english
    assert expected in [m for messages in response.json().values() for m in messages]
