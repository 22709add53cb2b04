"""The IATI endpoints and the Publishing page: who may read what, the files streamed and
cached until the data changes, the checks and what they keep out of the files."""

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import etree

from grants import services as grant_services
from grants.models import Grant, GrantStatus
from iati.conf import reporting_org
from partners.models import Sector
from tests.factories import make_contribution, make_receipt
from tests.grants.factories import make_grant

from .conftest import activities

pytestmark = pytest.mark.django_db

FILES = ["/api/v1/iati/activities.xml", "/api/v1/iati/organisation.xml"]
ROLES = ["fund_manager", "task_team_leader", "other_leader", "donor", "no_role", "anonymous"]


@pytest.fixture
def portfolio(fund_manager, leader):
    make_receipt(make_contribution(pledged_amount="800000.00"), "800000.00")
    good = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    # A sector the project knows but IATI's codelist does not: its activity is invalid.
    Sector.objects.create(code="99990", name="Not a DAC code", category="Test")
    bad = make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, sector=Sector.objects.get(code="99990")
    )
    make_grant(leader, GrantStatus.SUBMITTED)
    return {"good": good, "bad": bad}


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("url", FILES)
def test_the_files_are_public(client_for, portfolio, who, url):
    response = client_for(who).get(url)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    root = etree.fromstring(body(response))
    assert root.tag in ("iati-activities", "iati-organisations")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("fund_manager", 200),
        ("superuser", 200),
        ("task_team_leader", 403),
        ("other_leader", 403),
        ("donor", 403),
        ("no_role", 403),
        ("anonymous", 401),
    ],
)
def test_the_checks_are_for_fund_managers(client_for, portfolio, who, status):
    response = client_for(who).get("/api/v1/iati/checks/")
    assert response.status_code == status
    if status == 200:
        bad = portfolio["bad"]
        bad.refresh_from_db()
        assert response.json() == [
            {
                "grant": bad.pk,
                "reference": bad.reference,
                "element": "sector",
                "message": "Sector 99990 is not a DAC purpose code of IATI's codelist.",
            }
        ]
    else:
        assert set(response.json()) >= {"detail"}


def test_an_invalid_activity_is_left_out_of_the_file(anon, portfolio):
    found = activities(body(anon.get(FILES[0])))
    org = reporting_org()
    for grant in portfolio.values():
        grant.refresh_from_db()
    assert org.grant_activity_id(portfolio["good"].reference) in found
    assert org.grant_activity_id(portfolio["bad"].reference) not in found
    children = [r.get("ref") for r in found[org.fund_activity_id].iter("related-activity")]
    assert children == [org.grant_activity_id(portfolio["good"].reference)]


def test_public_reads_may_be_stored_signed_in_ones_not(anon, client_for, portfolio):
    for url in FILES:
        assert "no-store" not in anon.get(url).get("Cache-Control", "")
        assert "no-store" in client_for("donor").get(url)["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_the_file_is_kept_on_disk_until_the_data_changes(settings, fund_manager, leader):
    from rest_framework.test import APIClient

    make_receipt(make_contribution(pledged_amount="800000.00"), "800000.00")
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    anon = APIClient()
    first = body(anon.get(FILES[0]))
    cached = list(Path(settings.IATI_CACHE_DIR).glob("activities-v*.xml"))
    assert len(cached) == 1 and cached[0].read_bytes() == first
    with CaptureQueriesContext(connection) as queries:
        again = body(anon.get(FILES[0]))
    assert again == first
    assert len(queries) == 1, [q["sql"] for q in queries]  # the data version only
    grant_services.disbursement_record(
        grant=grant, user=fund_manager, amount_usd=Decimal("5000.00"), disbursed_on=date(2026, 3, 1)
    )
    changed = body(anon.get(FILES[0]))
    assert changed != first and b"5000.00" in changed
    cached = list(Path(settings.IATI_CACHE_DIR).glob("activities-v*.xml"))
    assert len(cached) == 1 and cached[0].read_bytes() == changed  # the old one is gone
    assert not [p for p in os.listdir(settings.IATI_CACHE_DIR) if p.endswith(".part")]


@pytest.mark.django_db(transaction=True)
def test_a_client_that_leaves_part_way_leaves_no_file(settings, fund_manager, leader):
    from rest_framework.test import APIClient

    make_receipt(make_contribution(pledged_amount="800000.00"), "800000.00")
    for _ in range(3):
        make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    response = APIClient().get(FILES[0])
    chunks = iter(response.streaming_content)
    next(chunks)
    response.close()  # the server closes the generator when the client goes away
    folder = Path(settings.IATI_CACHE_DIR)
    assert list(folder.iterdir()) == []


def test_the_file_streams_in_batches_with_queries_per_batch_not_per_grant(
    anon, fund_manager, leader, django_assert_max_num_queries
):
    make_receipt(make_contribution(pledged_amount="5000000.00"), "5000000.00")
    for _ in range(12):
        make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    # One batch: the grants, 8 related tables, then the next (empty) batch; the fund's
    # partners, pledges and receipts; a session-less anonymous request reads no user.
    with django_assert_max_num_queries(14):
        xml = body(anon.get(FILES[0]))
    assert len(activities(xml)) == 13


def test_drafts_and_undecided_grants_are_never_published(anon, fund_manager, leader):
    for status in ("draft", "submitted", "under_review", "returned", "rejected"):
        make_grant(leader, status, manager=fund_manager)
    found = activities(body(anon.get(FILES[0])))
    assert list(found) == [reporting_org().fund_activity_id]
    assert Grant.objects.count() == 5


# --- The Publishing page ---------------------------------------------------------------------


def test_the_publishing_page_lists_the_checks_with_links(web, portfolio):
    response = web("fund_manager").get("/publishing/")
    assert response.status_code == 200
    page = response.content.decode()
    bad = Grant.objects.get(pk=portfolio["bad"].pk)
    assert bad.reference in page
    assert f'href="/grants/{bad.pk}/"' in page
    assert "Sector 99990 is not a DAC purpose code" in page
    assert 'href="/api/v1/iati/activities.xml"' in page
    assert 'href="/api/v1/iati/organisation.xml"' in page
    assert "1 grant activity is published." in page


@pytest.mark.parametrize(("who", "status"), [("task_team_leader", 403), ("donor", 403)])
def test_the_publishing_page_is_for_fund_managers(web, portfolio, who, status):
    assert web(who).get("/publishing/").status_code == status
    assert web().get("/publishing/").status_code == 302  # to the login page


def test_the_fund_manager_finds_it_in_the_menu(web, fund_manager, leader):
    assert 'href="/publishing/"' in web("fund_manager").get("/").content.decode()
    assert 'href="/publishing/"' not in web("task_team_leader").get("/").content.decode()


def test_the_checks_read_a_batch_of_grants_in_a_fixed_number_of_queries(
    fresh_client, fund_manager, leader, django_assert_num_queries
):
    make_receipt(make_contribution(pledged_amount="5000000.00"), "5000000.00")
    for count in (3, 12):
        while Grant.objects.count() < count:
            make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
        client = fresh_client("fund_manager")
        # The user's roles; the grants and their 9 related tables (the documents
        # published with a story the ninth); the next (empty) batch; the fund's
        # partners, pledges and receipts.
        with django_assert_num_queries(15):
            assert client.get("/api/v1/iati/checks/").json() == []
