"""The benchmark's floors answer with the API's JSON, for the same rows.

``bench/django_floor.py`` (Django views, no DRF) and ``bench/bare_wsgi.py`` (no Django,
SQL through psycopg2) deliberately restate each endpoint's SQL and JSON without calling
the project: a floor that called it would measure it. bench/run compares their bodies
with the API's before it measures; this pins it in the suite, so that a change to a
representation that a floor does not follow fails here and not halfway through a
benchmark. Links and the fund's ``as_of`` are left out, as bench/run leaves them out.
"""

import os
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import include, path
from rest_framework.authtoken.models import Token

from bench import bare_wsgi
from bench.run import FLOOR_PREFIX, normalised
from brokering.models import ExchangeRequest, RequestStatus
from collaboration.models import NotificationKind
from collaboration.services import notifications_mark_read, notify
from grants.models import Grant, GrantStatus
from results.models import ResultsStory
from seetf.urls import urlpatterns as project_urlpatterns

# The Django floor mounted as bench/urls.py mounts it under the bench settings.
urlpatterns = [path(FLOOR_PREFIX.strip("/") + "/", include("bench.django_floor_urls"))]
urlpatterns += project_urlpatterns
HOST = "127.0.0.1:8701"  # bench/run normalises links of this form


def _requests(users) -> list[tuple[str, str]]:
    """(role, path) of every request bench/run measures, on this portfolio."""
    leader = users["task_team_leader"]
    detail = Grant.objects.filter(task_team_leader=leader, status=GrantStatus.APPROVED)
    deep = "status=closed&status=completed&ordering=-requested_usd"
    return [
        ("donor", "/api/v1/fund/"),
        ("fund_manager", "/api/v1/grants/"),
        ("fund_manager", f"/api/v1/grants/?{deep}&page=2&page_size=20"),
        ("fund_manager", f"/api/v1/grants/?{deep}&cursor="),
        ("task_team_leader", f"/api/v1/grants/{detail.order_by('pk').first().pk}/"),
        ("donor", "/api/v1/dashboards/donor/"),
        ("fund_manager", "/api/v1/reports/capacity-outcomes/"),
        ("fund_manager", "/api/v1/windows/"),
        ("task_team_leader", "/api/v1/notifications/"),
    ]


# The fund manager of the tests has no notification: both floors give the empty page.
NO_NOTIFICATIONS = ("fund_manager", "/api/v1/notifications/")


# The analytics reports as bench/run measures them, and other groupings: on PostgreSQL
# only, where the floor runs the reports' statements (bench/django_floor.py); the bare
# WSGI floor answers the two that bench/run measures with a bare floor.
ANALYTICS = [
    ("fund_manager", "/api/v1/reports/cycle-times/?group_by=quarter"),
    ("donor", "/api/v1/reports/cycle-times/?group_by=instrument"),
    ("task_team_leader", "/api/v1/reports/cycle-times/?group_by=size_band"),
    ("donor", "/api/v1/reports/portfolio-indicators/"),
    ("fund_manager", "/api/v1/reports/exchange-flows/?by=country"),
    ("donor", "/api/v1/reports/exchange-flows/?by=region"),
]
# The ones the bare floor answers too (the groupings bench/run measures).
BARE_ANALYTICS = {
    "/api/v1/reports/cycle-times/?group_by=quarter",
    "/api/v1/reports/portfolio-indicators/",
    "/api/v1/reports/exchange-flows/?by=country",
}
# Brokering's, on PostgreSQL too (the suggestions are ranked there by the database), by
# both floors.
BROKERING = [
    ("donor", "/api/v1/offers/?search=experience&language=en"),
    ("fund_manager", "/api/v1/offers/?search=water"),
    ("task_team_leader", "/api/v1/requests/{request}/suggestions/"),
]


def _search_word() -> str:
    title = ResultsStory.objects.filter(published=True).order_by("pk").first().title
    return max(re.findall(r"[A-Za-z]+", title), key=len)


def _api(client, token, url):
    response = client.get(url, HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST=HOST)
    assert response.status_code == 200, (url, response.content[:300])
    return response


def _bare(token, url):
    parts = urlsplit(url)
    environ = {
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "HTTP_AUTHORIZATION": f"Token {token}",
        "HTTP_HOST": HOST,
        "SERVER_NAME": "127.0.0.1",
    }
    statuses = []
    body = b"".join(bare_wsgi.application(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["200 OK"], (url, body[:300])
    return body


def _next_pages(client, tokens, requests):
    """The requests, and the page after the first cursor page (a cursor made by the API)."""
    out = list(requests)
    for role, url in requests:
        if url.endswith("cursor="):
            following = _api(client, tokens[role], url).json()["next"]
            out.append((role, following.removeprefix(f"http://{HOST}")))
    return out


@pytest.fixture
def bench_world(portfolio, role_users):
    portfolio(200)
    users = role_users()
    tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}
    # More notifications than a page holds (the floors' next link), some of them read.
    leader = users["task_team_leader"]
    grants = list(Grant.objects.filter(task_team_leader=leader).order_by("pk"))
    for index in range(53):
        notify(
            users=[leader],
            kind=NotificationKind.COMMENT,
            grant=grants[index % len(grants)] if index % 5 else None,
            text=lambda index=index: f"Notification {index}",
        )
    told = leader.notifications.order_by("pk").values_list("pk", flat=True)
    notifications_mark_read(user=leader, ids=list(told[:7]))
    return users, tokens


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_django_floor_gives_the_apis_json(client, bench_world):
    users, tokens = bench_world
    requests = _next_pages(client, tokens, _requests(users))
    if connection.vendor == "postgresql":  # the floor searches as PostgreSQL does
        requests.append(("donor", f"/api/v1/results-stories/?search={_search_word()}"))
        # and computes the analytics reports in the database (analytics.*_sql)
        requests += ANALYTICS
        request = ExchangeRequest.objects.filter(status=RequestStatus.OPEN).order_by("pk")[0]
        requests += [(role, url.format(request=request.pk)) for role, url in BROKERING]
    for role, url in requests:
        api = normalised(_api(client, tokens[role], url).content)
        floor = normalised(_api(client, tokens[role], FLOOR_PREFIX + url).content)
        assert floor == api, url
        found = api.get("results", api) or api.get("rows") if isinstance(api, dict) else api
        assert found, url  # not two empty answers
    role, url = NO_NOTIFICATIONS
    api = normalised(_api(client, tokens[role], url).content)
    assert api["count"] == 0
    assert normalised(_api(client, tokens[role], FLOOR_PREFIX + url).content) == api


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_bare_wsgi_floor_gives_the_apis_json(client, bench_world, monkeypatch, tmp_path):
    users, tokens = bench_world
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    monkeypatch.setitem(os.environ, "DATABASE_URL", url)
    monkeypatch.setattr(bare_wsgi, "_connection", None)
    # The analytics reports' statements, as bench/run writes them for the bare floor.
    statements = tmp_path / "statements.json"
    call_command("bench_statements", "--output", str(statements))
    monkeypatch.setitem(os.environ, "BENCH_STATEMENTS", str(statements))
    monkeypatch.setattr(bare_wsgi, "_statements", None)
    requests = _next_pages(client, tokens, _requests(users))
    requests += [(role, url) for role, url in ANALYTICS if url in BARE_ANALYTICS]
    requests.append(("donor", f"/api/v1/results-stories/?search={_search_word()}"))
    request = ExchangeRequest.objects.filter(status=RequestStatus.OPEN).order_by("pk")[0]
    requests += [(role, url.format(request=request.pk)) for role, url in BROKERING]
    requests.append(NO_NOTIFICATIONS)
    try:
        for role, path_ in requests:
            api = normalised(_api(client, tokens[role], path_).content)
            assert normalised(_bare(tokens[role], path_)) == api, path_
    finally:
        if bare_wsgi._connection is not None:
            bare_wsgi._connection.close()
