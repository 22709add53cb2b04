"""Reports and dashboards cached until the data under them changes (seetf.common.datacache).

These tests commit (transaction=True): the cache only serves outside a transaction, as a
real request runs, and the version moves only when a write commits.
"""

import csv
import gzip
import io
import json
import os
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.cache.backends.base import BaseCache
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from grants.models import Grant, GrantStatus
from partners.models import Country, Sector
from results.models import CompletionReport
from seetf.common import datacache
from seetf.common.models import DataChange
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant

pytestmark = pytest.mark.django_db(transaction=True)

REPORT = "/api/v1/reports/capacity-outcomes/"


@pytest.fixture
def closed(leader, fund_manager):
    fund_with("5000000.00")
    return finished_grant(leader, fund_manager, outcomes=["raised_awareness"])


def _report(client, url=REPORT):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


# --- The version -----------------------------------------------------------------------------


def test_every_table_of_the_tracked_apps_has_the_trigger():
    tables = datacache.tracked_tables()
    for table in (
        "grants_grant",
        "grants_grant_recipient_countries",
        "results_completionreport",
        "results_resultsstory_outcomes",
        "partners_contribution",
        "partners_receipt",
        "partners_fund",
        "brokering_offer",
        "brokering_offer_sectors",
        "brokering_exchangerequest",
        "brokering_match",
    ):
        assert table in tables
    assert set(tables) <= datacache.tables_with_triggers()


def test_the_version_moves_on_every_kind_of_write_and_not_on_reads(leader):
    fund_with("1000000.00")
    seen = [datacache.data_version()]

    def moved():
        seen.append(datacache.data_version())
        return seen[-1] > seen[-2]

    list(Grant.objects.all())
    assert not moved(), "a read moved the version"
    sector = Sector.objects.get(code="31120")
    sector.name = "Agricultural development (renamed)"
    sector.save()
    assert moved(), "save()"
    Sector.objects.filter(code="31120").update(name="Agricultural development")
    assert moved(), "queryset.update()"
    grant = make_grant(leader, GrantStatus.DRAFT)
    assert moved(), "create()"
    grant.recipient_countries.add(Country.objects.get(code="HTI"))
    assert moved(), "a many-to-many add"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE grants_grant SET title = 'Raw' WHERE id = %s", [grant.pk])
    assert moved(), "raw SQL"
    grant.recipient_countries.clear()
    assert moved(), "a delete"


def test_a_write_rolled_back_leaves_the_version_as_it_was():
    before = datacache.data_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        Sector.objects.filter(code="31120").update(name="Changed")
        raise RuntimeError("roll back")
    assert datacache.data_version() == before


def test_migrate_moves_the_version_so_a_deploy_never_serves_what_older_code_built():
    before = datacache.data_version()
    datacache.on_post_migrate(sender=None)
    assert datacache.data_version() > before


@pytest.mark.postgres
def test_compaction_folds_the_rows_into_one_and_moves_the_version_on():
    for code in ("31120", "12110", "15110"):
        Sector.objects.filter(code=code).update(name=f"Renamed {code}")
    assert DataChange.objects.count() > 1
    before = datacache.data_version()
    removed = datacache.compact_data_changes()
    assert removed > 1
    assert DataChange.objects.count() == 1
    assert datacache.data_version() == before + 1


def test_nothing_is_cached_inside_a_transaction():
    calls = []

    def build():
        calls.append(1)
        return len(calls)

    with transaction.atomic():
        assert datacache.cached(("t",), build) == 1
        assert datacache.cached(("t",), build) == 2
    assert datacache.cached(("t",), build) == 3
    assert datacache.cached(("t",), build) == 3, "outside a transaction, the second is a hit"


# --- The capacity-outcomes report ------------------------------------------------------------


def test_the_report_is_served_from_the_cache_until_a_write_commits(
    closed, fund_manager, client_for, django_assert_num_queries
):
    client = client_for(fund_manager)
    first = _report(client)
    assert first["totals"] == {**first["totals"], "grants": 1, "raised_awareness": 1}
    # A hit: the data version, nothing else (the roles are read once per user object).
    with django_assert_num_queries(1):
        assert _report(client) == first
    # The outcome changed behind the services' back: the report follows.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE results_completionreport SET raised_awareness = FALSE")
    assert _report(client)["totals"]["raised_awareness"] == 0


def test_a_grant_closed_through_the_api_shows_in_the_report_at_once(
    closed, leader, fund_manager, client_for
):
    client = client_for(fund_manager)
    assert _report(client)["totals"]["grants"] == 1
    second = finished_grant(
        leader, fund_manager, status=GrantStatus.COMPLETED, outcomes=["enhanced_networks"]
    )
    assert client.post(f"/api/v1/grants/{second.pk}/close/").status_code == 200
    report = _report(client)
    assert report["totals"]["grants"] == 2
    assert report["totals"]["enhanced_networks"] == 1


def test_each_user_gets_what_they_may_see_not_what_another_was_given(
    closed, leader, fund_manager, donor, client_for
):
    # Completed, its report submitted but not accepted: fund managers see it, donors not.
    finished_grant(leader, fund_manager, status=GrantStatus.COMPLETED, accept=False)
    assert _report(client_for(fund_manager))["totals"]["grants"] == 2
    assert _report(client_for(donor))["totals"]["grants"] == 1
    assert _report(client_for(fund_manager))["totals"]["grants"] == 2


def test_filters_and_formats_are_cached_apart(closed, fund_manager, client_for):
    client = client_for(fund_manager)
    assert _report(client)["totals"]["grants"] == 1
    other_region = "EAP" if closed.region != "EAP" else "AFR"
    assert _report(client, f"{REPORT}?region={other_region}")["totals"]["grants"] == 0
    response = client.get(f"{REPORT}?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["grant", "reference", "title"]
    assert lines[-1][0] == "TOTAL"
    # And JSON again, after the CSV was cached.
    assert client.get(REPORT)["Content-Type"] == "application/json"
    assert client.get(f"{REPORT}?region=XXX").status_code == 400


def test_a_long_report_is_served_gzipped_to_a_client_that_accepts_it(
    closed, fund_manager, client_for, monkeypatch
):
    monkeypatch.setattr(datacache, "GZIP_MIN_BYTES", 100)  # the one report is short
    client = client_for(fund_manager)
    for _ in range(2):  # computed, then a hit: the same bytes
        zipped = client.get(REPORT, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert zipped["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in zipped["Vary"]
        assert int(zipped["Content-Length"]) == len(zipped.content)
        plain = client.get(REPORT)
        assert not plain.has_header("Content-Encoding")
        assert "Accept-Encoding" in plain["Vary"]
        assert gzip.decompress(zipped.content) == plain.content
        assert json.loads(plain.content)["totals"]["grants"] == 1
    csv_zipped = client.get(f"{REPORT}?format=csv", HTTP_ACCEPT_ENCODING="gzip")
    assert csv_zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(csv_zipped.content) == client.get(f"{REPORT}?format=csv").content
    # A write: the next answer is the new data, gzipped again.
    CompletionReport.objects.update(raised_awareness=False)
    zipped = client.get(REPORT, HTTP_ACCEPT_ENCODING="gzip")
    assert json.loads(gzip.decompress(zipped.content))["totals"]["raised_awareness"] == 0


def test_short_uncached_and_spreadsheet_answers_are_not_gzipped(
    closed, fund_manager, client_for, monkeypatch
):
    client = client_for(fund_manager)
    short = client.get(REPORT, HTTP_ACCEPT_ENCODING="gzip")
    assert len(short.content) < datacache.GZIP_MIN_BYTES
    assert not short.has_header("Content-Encoding")
    monkeypatch.setattr(datacache, "GZIP_MIN_BYTES", 100)
    with override_settings(DATA_CACHE=False):  # gzipped once a version, never per request
        assert not client.get(REPORT, HTTP_ACCEPT_ENCODING="gzip").has_header("Content-Encoding")
    book = client.get(f"{REPORT}?format=xlsx", HTTP_ACCEPT_ENCODING="gzip")  # a zip already
    assert book.status_code == 200 and not book.has_header("Content-Encoding")
    assert book.content[:2] == b"PK"


class BrokenCache(BaseCache):
    """A cache server that is down."""

    def __init__(self, location, params):
        super().__init__(params)

    def get(self, key, default=None, version=None):
        raise ConnectionError("cache down")

    def set(self, key, value, timeout=None, version=None):
        raise ConnectionError("cache down")


def test_a_cache_that_is_down_only_means_building_every_time(closed, fund_manager, client_for):
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "broken": {"BACKEND": "tests.test_datacache.BrokenCache"},
    }
    with override_settings(CACHES=caches, DATA_CACHE_ALIAS="broken"):
        client = client_for(fund_manager)
        assert _report(client)["totals"]["grants"] == 1
        assert _report(client)["totals"]["grants"] == 1


def test_data_cache_0_switches_it_off(closed, fund_manager, client_for, django_assert_num_queries):
    client = client_for(fund_manager)
    _report(client)
    with override_settings(DATA_CACHE=False), django_assert_num_queries(1):
        _report(client)  # the rows themselves, no version


# --- The donor dashboard ---------------------------------------------------------------------


def test_the_dashboard_is_cached_with_a_fresh_as_of_and_follows_a_receipt(
    closed, donor, donor_partner, client_for, django_assert_num_queries
):
    contribution = make_contribution(donor_partner, pledged_amount="1000000.00")
    client = client_for(donor)
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=UTC), tick=False):
        first = client.get("/api/v1/dashboards/donor/").json()
    with time_machine.travel(datetime(2026, 12, 1, 0, 30, tzinfo=UTC), tick=False):
        # A hit: the data version and the donor's partner (asked before the cache).
        with django_assert_num_queries(2):
            second = client.get("/api/v1/dashboards/donor/").json()
    assert second["fund"]["as_of"] != first["fund"]["as_of"]
    assert second["fund"]["as_of"].startswith("2026-12-01T00:30:00")
    assert {**second, "fund": first["fund"]} == first
    assert first["received_usd"] == "0.00"
    make_receipt(contribution, "250000.00")
    third = client.get("/api/v1/dashboards/donor/").json()
    assert third["received_usd"] == "250000.00"
    assert Decimal(third["fund"]["received_usd"]) == Decimal(first["fund"]["received_usd"]) + 250000


def test_a_completion_report_edited_in_the_admin_changes_the_dashboard(closed, donor, client_for):
    client = client_for(donor)
    assert client.get("/api/v1/dashboards/donor/").json()["outcome_totals"]["raised_awareness"] == 1
    report = CompletionReport.objects.get(grant=closed)
    report.raised_awareness = False
    report.save()
    assert client.get("/api/v1/dashboards/donor/").json()["outcome_totals"]["raised_awareness"] == 0


@pytest.mark.postgres
def test_beat_compacts_every_day_and_run_jobs_does_too(settings):
    from django.core.management import call_command

    from seetf.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["compact-data-version"]
    app.loader.import_default_modules()  # as a worker starts: the apps' tasks discovered
    assert entry["task"] in app.tasks
    assert len(entry["schedule"].hour) == 1 and len(entry["schedule"].minute) == 1
    for code in ("31120", "12110"):
        Sector.objects.filter(code=code).update(name=f"Renamed {code}")
    # The task the beat entry names, as the project's Celery app runs it.
    run = app.tasks[entry["task"]].apply()
    assert run.successful() and run.result["removed"] > 1
    assert DataChange.objects.count() == 1
    Sector.objects.filter(code="31120").update(name="Again")
    call_command("run_jobs", "--date", "2026-12-01")
    assert DataChange.objects.count() == 1


# --- With Redis, as docker compose deploys it ------------------------------------------------

REDIS_CACHE = os.environ.get("CACHE_TEST_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def redis_cache():
    """Django's Redis cache on a Redis database of the tests' own, emptied before and after."""
    import redis

    try:
        redis.Redis.from_url(REDIS_CACHE, socket_connect_timeout=2).ping()
    except redis.RedisError:
        message = f"needs Redis at {REDIS_CACHE} (CACHE_TEST_URL)"
        if os.environ.get("CI") or os.environ.get("SEETF_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "redis": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE,
        },
    }
    with override_settings(CACHES=caches, DATA_CACHE_ALIAS="redis"):
        from django.core.cache import caches as handler

        handler["redis"].clear()
        yield handler["redis"]
        handler["redis"].clear()


def test_with_redis_a_second_process_is_served_and_a_write_invalidates(
    closed, fund_manager, client_for, redis_cache, django_assert_num_queries
):
    first = _report(client_for(fund_manager))
    keys = redis_cache._cache.get_client().keys("*seetf:data:*")
    assert len(keys) == 1, "the rendered report is in Redis"
    # What another gunicorn worker would do: a fresh local state, the same Redis.
    with django_assert_num_queries(1):
        assert _report(client_for(fund_manager)) == first
    CompletionReport.objects.filter(grant=closed).update(raised_awareness=False)
    assert _report(client_for(fund_manager))["totals"]["raised_awareness"] == 0


def test_the_dashboard_reads_the_threshold_setting_at_each_request(
    closed, donor, client_for, settings
):
    client = client_for(donor)
    settings.FUNDING_ALERT_THRESHOLD_USD = Decimal("250000.00")
    assert client.get("/api/v1/dashboards/donor/").json()["fund"]["low_balance_threshold_usd"] == (
        "250000.00"
    )
    settings.FUNDING_ALERT_THRESHOLD_USD = Decimal("900000.00")
    assert client.get("/api/v1/dashboards/donor/").json()["fund"]["low_balance_threshold_usd"] == (
        "900000.00"
    )


def test_reports_are_cached_apart_per_time_zone(closed, fund_manager, client_for):
    from django.utils import timezone

    CompletionReport.objects.filter(grant=closed).update(
        follow_up_needed=True, follow_up_description="A second study tour."
    )
    client = client_for(fund_manager)
    url = "/api/v1/reports/follow-up/"
    utc = client.get(url).json()
    with timezone.override("America/Port-au-Prince"):
        haiti = client.get(url).json()
    assert utc["rows"] and haiti["rows"]
    assert utc["rows"][0]["accepted_at"].endswith("Z")
    assert haiti["rows"][0]["accepted_at"].endswith("-05:00")


def test_suggestions_are_served_from_the_cache_until_an_offer_changes(leader, client_for):
    """Brokering is a tracked app: the suggestions are kept rendered, and any write to the
    offers (here a raw update, no service) is seen at the next request."""
    from django.test.utils import CaptureQueriesContext

    from brokering.models import Offer
    from tests.brokering.factories import make_offer, make_request

    request = make_request(leader)
    client = client_for("leader")
    url = f"/api/v1/requests/{request.pk}/suggestions/"
    assert client.get(url).json() == []
    offer = make_offer(leader, provider_country="MEX", sectors=["16010"])
    assert [s["offer"]["id"] for s in client.get(url).json()] == [offer.pk]
    with CaptureQueriesContext(connection) as seen:
        again = client.get(url).json()
    assert [s["offer"]["id"] for s in again] == [offer.pk]
    assert not [q for q in seen.captured_queries if "brokering_offer" in q["sql"]]
    Offer.objects.filter(pk=offer.pk).update(status="withdrawn")
    assert client.get(url).json() == []


def test_the_offers_catalogue_names_its_filters_choices_once_per_version(web):
    client = web("anonymous")

    def filters():
        page = client.get("/offers/").content.decode()
        return page[
            page.index('<form method="get"') : page.index(
                "</form>", page.index('<form method="get"')
            )
        ]

    first = filters()
    assert '<option value="16010">' in first and '<option value="MEX">' in first
    sectors = 'FROM "partners_sector" ORDER BY'
    with CaptureQueriesContext(connection) as second:
        assert filters() == first
    assert not [q for q in second.captured_queries if sectors in q["sql"]]
    # A sector renamed behind the services' back: the filter follows at once.
    Sector.objects.filter(code="16010").update(name="Renamed social protection")
    assert "Renamed social protection" in filters()
