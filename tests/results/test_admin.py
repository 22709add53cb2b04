"""The admin writes stories through the services, and shows the outcomes read only."""

import pytest

from results.models import ResultsStory

from .factories import make_story

pytestmark = pytest.mark.django_db

STORIES = "/admin/results/resultsstory/"


def test_adding_a_story_in_the_admin_renders_and_sanitizes_it(web, superuser, closed_grant):
    client = web(superuser)
    assert client.get(f"{STORIES}add/").status_code == 200
    response = client.post(
        f"{STORIES}add/",
        {
            "grant": closed_grant.id,
            "title": "From the admin",
            "body": "**Bold**<img src=x onerror=alert(1)>",
            "sectors": ["16010"],
            "countries": ["HND"],
            "outcomes": ["enhanced_networks"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    story = ResultsStory.objects.get()
    assert (story.slug, story.created_by) == ("from-the-admin", superuser)
    assert story.body_html == "<p><strong>Bold</strong></p>\n"
    assert [o.code for o in story.outcomes.all()] == ["enhanced_networks"]
    page = client.get(f"{STORIES}{story.pk}/change/")
    assert page.status_code == 200
    assert b"<p><strong>Bold</strong></p>" in page.content


def test_the_admin_shows_the_service_rules_on_the_form(web, superuser, closed_grant):
    response = web(superuser).post(
        f"{STORIES}add/", {"grant": closed_grant.id, "title": "   ", "body": "x"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.keys() == {"title"}
    assert not ResultsStory.objects.exists()


def test_publishing_from_the_admin(web, superuser, fund_manager, closed_grant):
    draft = make_story(fund_manager, closed_grant)
    client = web(superuser)
    response = client.post(STORIES, {"action": "publish", "_selected_action": [draft.pk]})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.published and draft.published_at is not None
    client.post(STORIES, {"action": "unpublish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert not draft.published


def test_outcomes_are_read_only_in_the_admin(web, superuser):
    client = web(superuser)
    assert client.get("/admin/results/outcome/").status_code == 200
    assert client.get("/admin/results/outcome/add/").status_code == 403
    page = client.get("/admin/results/outcome/enhanced_networks/change/")
    assert page.status_code == 200
    assert b'name="name"' not in page.content
    assert client.post("/admin/results/outcome/enhanced_networks/delete/").status_code == 403
