"""The rows take their columns and conversions from the serializer's declaration
(``seetf.common.rows``): a field added to a serializer is in the rows, written as the
serializer writes it, with no other edit; a field the declaration cannot say is an error
until it is declared, never a field left out."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from grants.api import serializers as grant_serializers
from grants.api import views as grant_views
from grants.api.serializers import ExchangeSerializer, GrantDetailSerializer, GrantSerializer
from grants.api.views import _with_relations
from grants.models import Exchange, Grant
from grants.selectors import WORKFLOW_COLUMNS
from results import selectors as results_selectors
from results.api.stories import ResultsStorySerializer
from results.models import ResultsStory
from seetf.common.rows import Computed, Related, RowRepresentation
from tests.conftest import api_client, read_afresh

pytestmark = pytest.mark.django_db


class WiderGrantSerializer(GrantSerializer):
    """GrantSerializer and fields of every kind it does not have yet."""

    # Through a required foreign key (a draft may have no sector: that one is Computed).
    leader_name = serializers.CharField(source="task_team_leader.username", read_only=True)
    share_released = serializers.DecimalField(
        source="released_usd", max_digits=16, decimal_places=4, read_only=True
    )
    updated_on = serializers.DateField(source="planned_end", read_only=True)
    leader_again = serializers.PrimaryKeyRelatedField(source="task_team_leader", read_only=True)
    donors = serializers.SlugRelatedField(
        source="facilitating_partners", slug_field="code", many=True, read_only=True
    )

    class Meta(GrantSerializer.Meta):
        fields = [
            *GrantSerializer.Meta.fields,
            "released_usd",
            "updated_at",
            "leader_name",
            "share_released",
            "updated_on",
            "leader_again",
            "donors",
        ]


class WiderGrantDetailSerializer(WiderGrantSerializer):
    """The detail's serializer over the wider grant, as GrantDetailSerializer is over
    GrantSerializer: what a field added to GrantSerializer itself gives the detail."""

    allowed_actions = GrantDetailSerializer._declared_fields["allowed_actions"]

    class Meta(WiderGrantSerializer.Meta):
        fields = [*WiderGrantSerializer.Meta.fields, "allowed_actions"]


class WiderStorySerializer(ResultsStorySerializer):
    class Meta(ResultsStorySerializer.Meta):
        fields = [*ResultsStorySerializer.Meta.fields, "updated_at", "created_at"]
        read_only_fields = fields


def _same(representation, queryset, serializer_class, instances):
    got = representation.represent(representation.read(queryset))
    expected = [serializer_class(instance).data for instance in instances]
    assert json.dumps(got) == json.dumps(expected)
    return got


def test_fields_added_to_the_grant_serializer_are_in_the_rows(portfolio):
    portfolio(60)
    grants = Grant.objects.order_by("-created_at", "-id")
    rows = RowRepresentation(
        WiderGrantSerializer, page_by_ids=True, declared=grant_serializers.GRANT_ROWS_DECLARED
    )
    got = _same(rows, grants[:40], WiderGrantSerializer, _with_relations(grants)[:40])
    added = set(WiderGrantSerializer.Meta.fields) - set(GrantSerializer.Meta.fields)
    assert added <= set(got[0]) and len(got) == 40
    assert any(row["donors"] for row in got)
    assert all(len(row["share_released"].split(".")[1]) == 4 for row in got)


def test_a_field_added_to_the_grant_serializer_is_in_the_api(portfolio, role_users, monkeypatch):
    portfolio(30)
    client = api_client(read_afresh(role_users()["fund_manager"]))
    declared = grant_serializers.GRANT_ROWS_DECLARED
    monkeypatch.setattr(
        grant_serializers,
        "GRANT_ROWS",
        RowRepresentation(WiderGrantSerializer, page_by_ids=True, declared=declared),
    )
    detail_rows = RowRepresentation(
        WiderGrantDetailSerializer,
        declared={**declared, "allowed_actions": Computed(WORKFLOW_COLUMNS, lambda row: None)},
    )
    monkeypatch.setattr(grant_views, "GRANT_DETAIL_ROWS", detail_rows)
    body = client.get("/api/v1/grants/?page_size=500").json()
    ids = [row["id"] for row in body["results"]]
    grants = {g.pk: g for g in _with_relations(Grant.objects.filter(pk__in=ids))}
    expected = [WiderGrantSerializer(grants[pk]).data for pk in ids]
    assert json.dumps(body["results"]) == json.dumps(expected)
    detail = client.get(f"/api/v1/grants/{ids[0]}/").json()
    assert detail.pop("allowed_actions")  # the detail's own addition (test_workflow_table)
    assert json.dumps(detail) == json.dumps(expected[0])
    assert "leader_name" in detail and "donors" in detail


def test_fields_added_to_the_story_serializer_are_in_the_rows(portfolio):
    portfolio(200)
    stories = ResultsStory.objects.order_by(*results_selectors.STORY_ORDER)
    assert stories.exists()
    rows = RowRepresentation(WiderStorySerializer, declared={"outcomes": Related("outcomes")})
    got = _same(
        rows, stories, WiderStorySerializer, results_selectors.with_story_relations(stories)
    )
    assert {"updated_at", "created_at"} <= set(got[0])


def test_a_serializer_without_rows_yet_gets_them_from_its_declaration(portfolio):
    """The exchanges' serializer, which no fast path was written for: its countries
    (two many-to-many relations), its choices, dates and counts."""
    portfolio(40)
    exchanges = Exchange.objects.order_by("grant_id", "start_date", "id")
    got = _same(RowRepresentation(ExchangeSerializer), exchanges, ExchangeSerializer, exchanges)
    assert len(got) > 40 and all(row["recipient_countries"] for row in got)


class WithMethodField(GrantSerializer):
    leader_name = serializers.SerializerMethodField()

    class Meta(GrantSerializer.Meta):
        fields = [*GrantSerializer.Meta.fields, "leader_name"]

    def get_leader_name(self, grant) -> str:
        return grant.task_team_leader.username


class WithProperty(serializers.Serializer):
    title = serializers.CharField()
    label = serializers.CharField(source="get_status_display")


def test_what_the_declaration_cannot_say_is_an_error_until_declared(portfolio):
    none = Grant.objects.none()
    grant_declared = grant_serializers.GRANT_ROWS_DECLARED
    with pytest.raises(ImproperlyConfigured, match="partner_roles"):
        RowRepresentation(WithMethodField).read(none)  # GrantSerializer's own, undeclared
    with pytest.raises(ImproperlyConfigured, match="leader_name"):
        RowRepresentation(WithMethodField, declared=grant_declared).read(none)
    with pytest.raises(ImproperlyConfigured, match="label"):
        RowRepresentation(WithProperty, model=Grant).read(none)
    with pytest.raises(ImproperlyConfigured, match="no such fields"):
        RowRepresentation(GrantSerializer, declared={"nothing": Related("sectors")}).read(none)

    portfolio(10)
    declared = RowRepresentation(
        WithMethodField,
        declared={
            **grant_declared,
            "leader_name": Computed(
                ("task_team_leader__username",), lambda row: row["task_team_leader__username"]
            ),
        },
    )
    grants = Grant.objects.order_by("pk")
    _same(declared, grants, WithMethodField, _with_relations(grants))
