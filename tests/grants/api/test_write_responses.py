"""A write answers with the grant as the list and detail give it: one representation
(``grants.api.serializers.GRANT_ROWS``), byte for byte what GrantSerializer gives."""

import json

import pytest

from grants.api.serializers import GrantSerializer
from grants.api.views import _with_relations
from grants.models import Grant
from tests.factories import fund_with

pytestmark = pytest.mark.django_db

URL = "/api/v1/grants/"


def _as_read(client, response, status=200):
    """The body of ``response``, checked against the serializer and the detail."""
    assert response.status_code == status, response.content
    grant = _with_relations(Grant.objects.filter(pk=response.json()["id"])).get()
    assert (
        response.content == json.dumps(GrantSerializer(grant).data, separators=(",", ":")).encode()
    )
    # The detail is the same grant, then what the user may do with it now.
    detail = client.get(f"{URL}{grant.pk}/").json()
    detail.pop("allowed_actions")
    assert json.dumps(detail, separators=(",", ":")).encode() == response.content
    return response.json()


def test_create_update_and_every_transition_answer_as_the_detail_reads(
    client_for, leader, fund_manager
):
    fund_with("500000.00")
    ttl, fm = client_for(leader), client_for(fund_manager)
    created = _as_read(
        ttl,
        ttl.post(
            URL,
            {
                "title": "Dairy sector reform",
                "summary": "Tanzania and Uganda learn from India.",
                "sector": "31163",
                "region": "AFR",
                "recipient_countries": ["UGA", "TZA"],
                "provider_countries": ["IND"],
                "requested_usd": "120000.5",
                "planned_start": "2026-02-01",
                "planned_end": "2026-08-31",
                "targeted_outcomes": ["enhanced_networks"],
            },
        ),
        status=201,
    )
    assert created["requested_usd"] == "120000.50"
    assert created["recipient_countries"] == ["TZA", "UGA"]  # by name, as always
    grant = f"{URL}{created['id']}/"
    _as_read(ttl, ttl.patch(grant, {"title": "Dairy reform", "provider_countries": []}))
    _as_read(ttl, ttl.post(f"{grant}submit/"))
    _as_read(fm, fm.post(f"{grant}start-review/"))
    approve = {"approved_usd": "100000.00"}
    approved = _as_read(fm, fm.post(f"{grant}approve/", approve, HTTP_IDEMPOTENCY_KEY="k-1"))
    assert approved["status"] == "approved" and approved["decided_at"].endswith("Z")
    replayed = fm.post(f"{grant}approve/", approve, HTTP_IDEMPOTENCY_KEY="k-1")
    # The same grant (on PostgreSQL the stored answer, JSONB, comes back in its key order).
    assert replayed.status_code == 200 and replayed.json() == approved
    _as_read(fm, fm.post(f"{grant}cancel/", {"comment": "No longer needed."}))
