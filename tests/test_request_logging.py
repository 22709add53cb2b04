"""What a refused or failed request leaves in the log: an expected refusal (401, 403, 404,
405) one line from ``django.request``, with no traceback; a real error (500) its
traceback. In demo mode (DEBUG=1) too, where a 404 and a 500 are the site's own pages
(seetf/common/errorpages.py)."""

import logging

import pytest

from grants import selectors as grant_selectors
from grants.models import GrantStatus
from tests.grants.factories import make_grant
from tests.web.pages import page

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["production", "DEBUG=1"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def request_records(caplog):
    return [r for r in caplog.records if r.name == "django.request"]


def one_line(caplog, level, message):
    """The single record of the request: its level and message, and no traceback."""
    (record,) = request_records(caplog)
    assert (record.levelno, record.getMessage()) == (level, message)
    assert record.exc_info is None and not record.exc_text
    assert "Traceback" not in caplog.text


API_REFUSALS = [
    ("anonymous", "get", "/api/v1/fund/", 401, "Unauthorized: /api/v1/fund/"),
    ("donor", "post", "/api/v1/partners/", 403, "Forbidden: /api/v1/partners/"),
    ("donor", "get", "/api/v1/grants/999999/", 404, "Not Found: /api/v1/grants/999999/"),
    ("donor", "delete", "/api/v1/fund/", 405, "Method Not Allowed: /api/v1/fund/"),
    ("donor", "get", "/api/v1/no-such-thing/", 404, "Not Found: /api/v1/no-such-thing/"),
]


@pytest.mark.parametrize(("who", "method", "url", "status", "message"), API_REFUSALS)
def test_an_api_refusal_is_one_line(debug, client_for, caplog, who, method, url, status, message):
    client = client_for(who)
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = getattr(client, method)(url, {"code": "X"} if method == "post" else None)
    assert response.status_code == status
    one_line(caplog, logging.WARNING, message)


def test_a_refused_page_is_one_line_without_the_traceback_of_its_permission_denied(
    debug, web, leader, caplog
):
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = web(leader).get("/contributions/new/")
    assert response.status_code == 403
    one_line(caplog, logging.WARNING, "Forbidden (Permission denied): /contributions/new/")


def test_a_page_the_user_may_not_see_is_one_line(debug, web, leader, leader2, caplog):
    draft = make_grant(leader, GrantStatus.DRAFT)
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = web(leader2).get(f"/grants/{draft.pk}/")
    assert response.status_code == 404
    one_line(caplog, logging.WARNING, f"Not Found: /grants/{draft.pk}/")
    assert page(response).testid("error-title").text == "Page not found"


def test_an_unknown_page_is_the_sites_404_even_in_demo_mode(debug, web, leader, caplog):
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = web(leader).get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert page(response).testid("error-title").text == "Page not found"
    # Not Django's technical page, which lists every URL pattern of the site.
    assert "URLconf" not in html and "api/v1/" not in html
    one_line(caplog, logging.WARNING, "Not Found: /no/such/page/")


def test_a_path_missing_its_slash_is_still_redirected_in_demo_mode(debug, web, leader):
    response = web(leader).get("/grants")
    assert (response.status_code, response["Location"]) == (301, "/grants/")


def test_a_server_error_is_the_sites_500_and_logs_its_traceback_once(
    debug, web, leader, monkeypatch, caplog
):
    def broken(user):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(grant_selectors, "grants_visible_to", broken)
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = web(leader, raise_request_exception=False).get("/grants/")
    assert response.status_code == 500
    html = response.content.decode()
    assert page(response).testid("error-title").text == "Something went wrong"
    assert "the database went away" not in html and "Traceback" not in html
    (record,) = request_records(caplog)
    assert (record.levelno, record.getMessage()) == (
        logging.ERROR,
        "Internal Server Error: /grants/",
    )
    assert record.exc_info[0] is RuntimeError
    assert caplog.text.count("Traceback") == 1


def test_in_demo_mode_the_test_client_still_sees_the_exception(settings, web, leader, monkeypatch):
    """The middleware sends Django's got_request_exception, as Django does: the test client
    (and an error tracker) still learn of the exception."""
    settings.DEBUG = True

    def broken(user):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(grant_selectors, "grants_visible_to", broken)
    with pytest.raises(RuntimeError, match="the database went away"):
        web(leader).get("/grants/")
