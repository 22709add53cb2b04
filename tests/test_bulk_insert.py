"""`insert_rows` writes plain rows as the ORM would: keys, text, dates and aware times
read back the same, in batches beyond one statement's parameters."""

from datetime import UTC, datetime

import pytest

from grants.models import GrantHistory
from seetf.common.bulk import insert_rows
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db


def test_rows_read_back_as_written(leader):
    grant = make_grant(leader)
    at = datetime(2009, 6, 1, 10, 30, tzinfo=UTC)
    rows = [
        (grant.pk, at, leader.pk, "note", "submitted", "submitted", f"comment {i}")
        for i in range(1200)
    ]
    columns = ["grant_id", "at", "actor_id", "action", "from_status", "to_status", "comment"]
    assert insert_rows(GrantHistory, columns, iter(rows)) == 1200
    written = GrantHistory.objects.filter(action="note").order_by("id")
    assert written.count() == 1200
    first = written.first()
    assert (first.at, first.actor, first.comment) == (at, leader, "comment 0")
    assert GrantHistory.objects.filter(action="note", at__date=at.date()).count() == 1200
