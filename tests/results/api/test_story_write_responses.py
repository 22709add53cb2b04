"""A story write answers with the story as the list and detail give it: one
representation (``results.api.stories.STORY_ROWS``), byte for byte what
ResultsStorySerializer gives."""

import json

import pytest

from results.api.stories import ResultsStorySerializer
from results.models import ResultsStory
from results.selectors import with_story_relations

pytestmark = pytest.mark.django_db

URL = "/api/v1/results-stories/"


def _as_read(client, response, status=200):
    assert response.status_code == status, response.content
    story = with_story_relations(ResultsStory.objects.filter(pk=response.json()["id"])).get()
    expected = json.dumps(ResultsStorySerializer(story).data, separators=(",", ":")).encode()
    assert response.content == expected
    assert response.content == client.get(f"{URL}{story.pk}/").content
    return response.json()


def test_create_update_publish_and_unpublish_answer_as_the_detail_reads(client_for, closed_grant):
    client = client_for("fund_manager")
    story = {
        "grant": closed_grant.id,
        "title": "Peer learning works",
        "body": "It **did**.",
        "sectors": ["31120", "16010"],
        "countries": ["TZA", "KEN", "CHE"],
        "outcomes": ["enhanced_networks", "raised_awareness"],
    }
    created = _as_read(client, client.post(URL, story), status=201)
    assert created["countries"] == ["KEN", "CHE", "TZA"]  # by name, as always
    url = f"{URL}{created['id']}/"
    _as_read(client, client.patch(url, {"title": "Peer learning worked", "countries": []}))
    assert _as_read(client, client.post(f"{url}publish/"))["published_at"]
    _as_read(client, client.post(f"{url}unpublish/"))
    # Relations left out: from the grant.
    bare = {key: story[key] for key in ("grant", "title", "body")}
    from_grant = _as_read(client, client.post(URL, bare), status=201)
    assert from_grant["sectors"] == [closed_grant.sector_id]
