"""The grants counted by status (``GrantStatusCount``), which the database keeps with
triggers (grants 0017): the counts follow every kind of write, and the grant list of a
user who sees grants by their status alone reads its count from them, with the same
answer as counting the grants."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from bench.portfolio import generate_portfolio
from grants import services
from grants.models import Grant, GrantStatus, GrantStatusCount
from partners.roles import Role
from tests.conftest import api_client
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db

BACKFILL = __import__("grants.migrations.0017_status_counts", fromlist=["BACKFILL"]).BACKFILL


def counted():
    return {c.status: c.count for c in GrantStatusCount.objects.all() if c.count}


def actual():
    rows = Grant.objects.order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def test_the_counts_follow_the_services(funded, fund_manager, leader):
    assert counted() == actual() == {}
    make_grant(leader, GrantStatus.DRAFT)
    make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    make_grant(leader, GrantStatus.REJECTED, manager=fund_manager)
    make_grant(leader, GrantStatus.CLOSED, manager=fund_manager)
    assert counted() == actual() == {"draft": 1, "approved": 1, "rejected": 1, "closed": 1}


def test_the_counts_follow_bulk_loads_updates_and_deletes(fund_manager):
    generate_portfolio(grants=60, seed=3)  # bulk_create, in batches
    assert counted() == actual() and sum(counted().values()) == 60
    # The workflow's moves of the generated grants, and an update of many that moves none.
    for grant in Grant.objects.filter(status=GrantStatus.SUBMITTED):
        services.grant_transition(grant=grant, user=fund_manager, action="start-review")
    Grant.objects.filter(status=GrantStatus.CLOSED).update(title="Renamed")
    assert counted() == actual() and "submitted" not in counted()
    # A grant saved as a copy, then deleted (a grant with a history cannot be).
    copy = Grant.objects.filter(status=GrantStatus.DRAFT).first()
    drafts = counted()["draft"]
    copy.pk = None
    copy.save()
    assert counted() == actual() and counted()["draft"] == drafts + 1
    Grant.objects.filter(pk=copy.pk).delete()
    assert counted() == actual() and counted()["draft"] == drafts


def test_the_review_loader_is_counted(db):
    call_command("load_review_2011", stdout=open("/dev/null", "w"))
    assert counted() == actual() and sum(counted().values()) > 0


def test_the_migration_counts_the_grants_already_there(funded, leader, fund_manager):
    make_grant(leader, GrantStatus.SUBMITTED)
    make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    GrantStatusCount.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(BACKFILL)
    assert counted() == actual() == {"submitted": 1, "approved": 1}


def list_count(client, query):
    return client.get(f"/api/v1/grants/?{query}").json()["count"]


QUERIES = [
    "",
    "status=approved",
    "status=closed&status=completed",
    "status=draft",
    "status=draft&status=submitted",
    "status=closed&ordering=-requested_usd",
    "cursor=",
    "status=approved&cursor=",
    "triangular=true",
    "status=approved&search=water",
    "min_usd=50000",
]


def test_every_role_gets_the_count_of_its_grants(make_user, donor_partner):
    generate_portfolio(grants=80, seed=2)
    users = {
        "fund manager": make_user("c-fm", Role.FUND_MANAGER),
        "donor": make_user("c-donor", Role.DONOR, partner=donor_partner),
        "fund manager and donor": make_user(
            "c-both", Role.FUND_MANAGER, Role.DONOR, partner=donor_partner
        ),
        "fund manager and window manager": make_user(
            "c-fmwm", Role.FUND_MANAGER, Role.WINDOW_MANAGER
        ),
        "leader": Grant.objects.filter(status=GrantStatus.DRAFT).first().task_team_leader,
        "window manager": make_user("c-wm", Role.WINDOW_MANAGER),
    }
    for who, user in users.items():
        client = api_client(user)
        for query in QUERIES:
            # What the list holds, walked page by page: the count must say as much.
            body = client.get(f"/api/v1/grants/?{query}&page_size=500").json()
            url, held = body["next"], len(body["results"])
            while url:
                body = client.get(url).json()
                held += len(body["results"])
                url = body["next"]
            assert list_count(client, query) == held, (who, query)


@pytest.mark.parametrize(
    ("role", "reads_counts"),
    [(Role.FUND_MANAGER, True), (Role.DONOR, True), (Role.TASK_TEAM_LEADER, False)],
)
def test_the_list_reads_the_counts_not_the_grants_when_the_status_decides(
    funded, make_user, donor_partner, leader, fund_manager, role, reads_counts
):
    make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    user = make_user("who", role, partner=donor_partner if role == Role.DONOR else None)
    client = api_client(user)
    for query in ("", "status=approved&status=closed", "cursor="):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/grants/?{query}").json()["count"] == 1
        sql = [q["sql"] for q in queries.captured_queries]
        from_counts = [s for s in sql if "grants_grantstatuscount" in s]
        assert bool(from_counts) == reads_counts, (role, query, sql)
        assert any("COUNT(*)" in s and '"grants_grant"' in s for s in sql) != reads_counts


def test_a_list_with_any_other_filter_counts_the_grants(funded, leader, fund_manager):
    make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    client = api_client(fund_manager)
    for query, count in (("search=nothing-like-this", 0), ("status=approved&search=", 1)):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/grants/?{query}").json()["count"] == count
        sql = [q["sql"] for q in queries.captured_queries]
        assert not [s for s in sql if "grants_grantstatuscount" in s], (query, sql)
