"""On PostgreSQL the fund manager's home reads the first rows of its lists from indexes
in the lists' order (grants 0006, 0019, results 0005), not by sorting every matching grant of
a large fund: checked on the plans of the page's own queries, with sorting priced out,
so that a query no index serves in its order would show a Sort (or fall back to another
index) and fail.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grants import selectors as grant_selectors
from grants.models import GrantStatus
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        for setting in ("enable_sort", "enable_incremental_sort", "enable_seqscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_managers_lists_are_read_from_indexes_in_their_order(web, fund_manager, leader, funded):
    make_grant(leader, GrantStatus.SUBMITTED)
    make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    finished_grant(leader, fund_manager, accept=False)
    finished_grant(leader, fund_manager, status=GrantStatus.COMPLETED)
    client = web(fund_manager)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    limit = f"LIMIT {grant_selectors.HOME_LIMIT + 1}"
    lists = [query["sql"] for query in queries.captured_queries if limit in query["sql"]]
    # The overdue list's first grants (overdue_against_standards(limit=)): its own test.
    lists = [sql for sql in lists if "UNION ALL" not in sql]
    review_queue, overdue, to_accept, to_close = lists
    for sql, index in [
        (review_queue, "grant_review_queue_idx"),
        (overdue, "grant_report_due_idx"),
        (to_accept, "report_to_accept_idx"),
        # By the acceptance the grant keeps, not the report's (grants 0019).
        (to_close, "grant_to_close_walk_idx"),
    ]:
        plan = _plan(sql)
        assert index in plan, plan
        assert "Sort" not in plan, plan
    # The fund's pipeline total sums the requested amounts of the pipeline, read from one
    # of its partial indexes (an index-only scan once the table is vacuumed): the review
    # queue's, or the overdue walk's by first submission (grants 0018), whichever the
    # planner prices lower.
    fund = next(q["sql"] for q in queries.captured_queries if '"partners_fund"' in q["sql"])
    plan = _plan(fund)
    assert "grant_review_queue_idx" in plan or "grant_first_submitted_walk_idx" in plan, plan


def test_the_overdue_walk_of_waiting_reports_reads_its_index_in_order(
    web, fund_manager, leader, funded
):
    """The overdue list's walk of the reports waiting for acceptance
    (``analytics.cycletimes._overdue_walks``) reads the completed grants by the local
    submission date they keep (grants 0019), not every waiting report's time converted
    and sorted."""
    finished_grant(leader, fund_manager, accept=False)
    client = web(fund_manager)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    walks = next(q["sql"] for q in queries.captured_queries if "UNION ALL" in q["sql"])
    plan = _plan(walks)
    assert "grant_report_waiting_walk_idx" in plan, plan
    assert "Sort" not in plan, plan
