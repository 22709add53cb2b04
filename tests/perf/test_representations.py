"""The fast paths give exactly what the serializers gave: the grant list and detail
(rows, not model instances) and the capacity-outcomes report (rows passed as they are),
over a generated portfolio with every status, relation and null."""

import json

import pytest

from grants.api.serializers import GrantSerializer
from grants.api.views import _with_relations
from grants.models import Grant
from grants.selectors import allowed_actions
from results.api.reports import CapacityOutcomesReportSerializer
from results.selectors import capacity_outcomes_report

pytestmark = pytest.mark.django_db


def test_the_grant_list_and_detail_give_what_the_serializer_gives(
    fresh_client, portfolio, role_users
):
    portfolio(120)
    users = role_users()
    for role in ("fund_manager", "task_team_leader", "donor"):
        client = fresh_client(users[role])
        body = client.get("/api/v1/grants/?page_size=500").json()
        ids = [g["id"] for g in body["results"]]
        assert len(ids) == body["count"] > 0
        grants = {g.pk: g for g in _with_relations(Grant.objects.filter(pk__in=ids))}
        expected = [GrantSerializer(grants[pk]).data for pk in ids]
        assert json.dumps(body["results"]) == json.dumps(expected)
        # The detail is the grant, then what this user may do with it now (worked out
        # from the row): for a grant of each status and report stage, what
        # ``allowed_actions`` answers on the whole grant.
        stages = {}
        for pk, row in zip(ids, expected, strict=True):
            report = getattr(grants[pk], "completion_report", None)
            stage = (
                row["status"],
                report and bool(report.submitted_at),
                report and bool(report.accepted_at),
            )
            stages.setdefault(stage, (pk, row))
        assert len(stages) >= 5
        for pk, row in stages.values():
            detail = client.get(f"/api/v1/grants/{pk}/").json()
            allowed = detail.pop("allowed_actions")
            assert json.dumps(detail) == json.dumps(row)
            assert allowed == allowed_actions(users[role], grants[pk])


def test_the_capacity_outcomes_report_gives_what_its_serializer_gives(
    fresh_client, portfolio, role_users
):
    portfolio(120)
    users = role_users()
    for role in ("fund_manager", "donor"):
        client = fresh_client(users[role])
        body = client.get("/api/v1/reports/capacity-outcomes/").json()
        report = capacity_outcomes_report(user=users[role])
        assert body == json.loads(json.dumps(CapacityOutcomesReportSerializer(report).data))
        assert body["totals"]["grants"] == len(body["rows"]) > 0
        for name, total in body["totals"].items():
            if name != "grants":
                assert total == sum(1 for row in body["rows"] if row[name])
