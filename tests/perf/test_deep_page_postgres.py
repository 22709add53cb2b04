"""On PostgreSQL a page deep in the grant list ordered by the requested amount and
filtered by status (the benchmark's "filtered, ordered, page 199 of 249") skips its
earlier rows in the covering index of grants 0016, in the list's order, reading no
table row and sorting nothing: checked on the plan of the list's own page query, with
sorting and sequential scans priced out, so that an index without the status (0005's
``grant_requested_id_idx``, which must visit each row for its status) would show."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from grants.models import GrantStatus
from tests.conftest import api_client
from tests.grants.factories import make_grant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_deep_page_by_status_and_amount_reads_the_covering_index(fund_manager, leader):
    for amount in ("10000.00", "20000.00", "30000.00"):
        amount = Decimal(amount)
        make_grant(leader, GrantStatus.SUBMITTED, requested_usd=amount)
    with connection.cursor() as cursor:
        cursor.execute('VACUUM ANALYZE "grants_grant"')  # as autovacuum keeps a live table
    client = api_client(fund_manager)
    path = "/api/v1/grants/?status=submitted&status=under_review&ordering=-requested_usd"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{path}&page=2&page_size=1")
    assert response.status_code == 200
    assert [g["requested_usd"] for g in response.json()["results"]] == ["20000.00"]
    (page,) = [q["sql"] for q in queries.captured_queries if "OFFSET 1" in q["sql"]]
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("enable_sort", "enable_incremental_sort", "enable_seqscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN {page}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan Backward using grant_requested_status_idx" in plan, plan


def test_a_keyset_cursor_by_amount_seeks_to_its_position_in_the_covering_index(
    fund_manager, leader
):
    """``requested_usd`` may be NULL, and the cursor walk puts NULLs last: the grants with
    an amount are read apart, bounded by the position, so the index's backward scan
    starts there (``Index Cond``) instead of reading every grant and sorting them."""
    for amount in ("10000.00", "20000.00", "30000.00"):
        make_grant(leader, GrantStatus.SUBMITTED, requested_usd=Decimal(amount))
    with connection.cursor() as cursor:
        cursor.execute('VACUUM ANALYZE "grants_grant"')
    client = api_client(fund_manager)
    path = "/api/v1/grants/?status=submitted&status=under_review&ordering=-requested_usd"
    first = client.get(f"{path}&page_size=1&cursor=").json()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(first["next"])
    assert [g["requested_usd"] for g in response.json()["results"]] == ["20000.00"]
    (page,) = [
        q["sql"]
        for q in queries.captured_queries
        if "LIMIT 2" in q["sql"] and "requested_usd" in q["sql"]
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("enable_sort", "enable_incremental_sort", "enable_seqscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN {page}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan Backward using grant_requested_status_idx" in plan, plan
    assert "Index Cond: (requested_usd <= 30000.00)" in plan, plan
