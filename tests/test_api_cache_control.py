"""``Cache-Control: no-store`` on the API's private responses (issue 14, point 8): every
response to a request with credentials (a session or a token) and every response of an
endpoint that is not public; the public reads without credentials (published stories, the
schema and its docs) keep their headers."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api_walk import concrete, one_of_each, operations

pytestmark = pytest.mark.django_db

PUBLIC_READS = ["/api/schema/", "/api/docs/"]


def no_store(response) -> bool:
    directives = [part.strip() for part in response.get("Cache-Control", "").split(",")]
    return "no-store" in directives


@pytest.fixture
def signed_in(web, fund_manager):
    """The fund manager's two ways in: a session (the web UI's) and a token."""
    token = Token.objects.create(user=fund_manager)
    return {
        "session": web(fund_manager),
        "token": APIClient(headers={"Authorization": f"Token {token.key}"}),
    }


@pytest.mark.parametrize("way_in", ["session", "token"])
def test_every_get_route_answers_a_signed_in_fund_manager_with_no_store(
    signed_in, way_in, fund_manager, leader
):
    objects = one_of_each(fund_manager, leader)
    client = signed_in[way_in]
    urls = [concrete(path, objects) for method, path in operations() if method == "GET"]
    urls += PUBLIC_READS + ["/api/v1/no-such-route/"]
    answered, stored = {}, []
    for url in urls:
        response = client.get(url)
        answered[url] = response.status_code
        if not no_store(response):
            stored.append(f"{url}: {response.status_code} {response.get('Cache-Control')!r}")
    assert stored == []
    # Mostly real reads, not refusals: the header is on the data itself.
    assert sum(status == 200 for status in answered.values()) >= 25, answered
    assert answered["/api/v1/no-such-route/"] == 404


def test_anonymous_reads_of_published_stories_keep_their_headers(anon, fund_manager, leader):
    objects = one_of_each(fund_manager, leader)
    story = objects["results-stories"]
    assert story.published
    for url in ["/api/v1/results-stories/", f"/api/v1/results-stories/{story.pk}/"]:
        response = anon.get(url)
        assert response.status_code == 200, url
        assert "Cache-Control" not in response, url
    for url in PUBLIC_READS:
        response = anon.get(url)
        assert response.status_code == 200, url
        assert "Cache-Control" not in response, url


def test_a_signed_in_read_of_the_public_stories_is_not_stored(signed_in, fund_manager, leader):
    one_of_each(fund_manager, leader)
    for client in signed_in.values():
        response = client.get("/api/v1/results-stories/")
        assert response.status_code == 200
        assert no_store(response)


def test_what_a_private_endpoint_tells_an_anonymous_client_is_not_stored(anon):
    for url in ["/api/v1/grants/", "/api/v1/fund/", "/api/v1/no-such-route/"]:
        response = anon.get(url)
        assert response.status_code in (401, 404), url
        assert no_store(response), url


def test_the_token_the_token_endpoint_gives_is_not_stored(anon, leader):
    response = anon.post(
        "/api/v1/auth/token/", {"username": "ttl", "password": "a-long-test-password"}
    )
    assert response.status_code == 200 and response.json()["token"]
    assert no_store(response)


def test_the_web_pages_are_left_as_they_were(web, fund_manager):
    response = web(fund_manager).get("/grants/")
    assert response.status_code == 200
    assert not no_store(response)
