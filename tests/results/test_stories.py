"""The story services: writing, rendering, slugs, validation, publishing, and rules."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from grants.models import CapacityOutcome, GrantStatus
from partners.models import Country, Sector
from results import services as result_services
from results.models import Outcome, ResultsStory
from seetf.common.errors import ApplicationError
from tests.grants.factories import REPORT, make_grant

from .factories import make_story

pytestmark = pytest.mark.django_db


def test_the_six_outcomes_are_seeded():
    assert dict(Outcome.objects.values_list("code", "name")) == dict(CapacityOutcome.choices)


def test_a_fund_manager_writes_a_draft_with_rendered_html_and_the_grant_facts(
    fund_manager, closed_grant
):
    story = result_services.story_create(
        user=fund_manager,
        grant=closed_grant,
        title="  Cash transfers reach the poorest  ",
        body="## Results\n\nOfficials *learned*.<script>alert(1)</script>",
    )
    story.refresh_from_db()
    assert story.title == "Cash transfers reach the poorest"
    assert story.slug == "cash-transfers-reach-the-poorest"
    assert story.body_html == "<h2>Results</h2>\n<p>Officials <em>learned</em>.</p>\n"
    assert story.published is False and story.published_at is None
    assert story.created_by == fund_manager
    # Left out, the relations come from the grant and its completion report.
    assert [s.code for s in story.sectors.all()] == [closed_grant.sector_id]
    assert [c.code for c in story.countries.all()] == ["HND"]
    assert sorted(o.code for o in story.outcomes.all()) == sorted(REPORT["outcomes_achieved"])


def test_relations_given_on_creation_replace_the_grant_defaults(fund_manager, closed_grant):
    story = make_story(
        fund_manager,
        closed_grant,
        sectors=[Sector.objects.get(code="31120")],
        countries=[],
        outcomes=["enhanced_networks"],
    )
    assert [s.code for s in story.sectors.all()] == ["31120"]
    assert list(story.countries.all()) == []
    assert [o.code for o in story.outcomes.all()] == ["enhanced_networks"]


def test_slugs_are_unique_with_a_suffix_and_never_change(fund_manager, closed_grant):
    first = make_story(fund_manager, closed_grant, title="Dairy reform")
    second = make_story(fund_manager, closed_grant, title="Dairy reform!")
    third = make_story(fund_manager, closed_grant, title="DAIRY   reform")
    other = make_story(fund_manager, closed_grant, title="Dairy reform in Uganda")
    symbols = make_story(fund_manager, closed_grant, title="¡¿!?")
    assert [first.slug, second.slug, third.slug] == [
        "dairy-reform",
        "dairy-reform-2",
        "dairy-reform-3",
    ]
    assert other.slug == "dairy-reform-in-uganda"
    assert symbols.slug == "story"
    updated = result_services.story_update(story=first, user=fund_manager, title="Another title")
    assert updated.slug == "dairy-reform"


def test_an_update_renders_the_body_again_and_replaces_only_the_relations_given(
    fund_manager, closed_grant
):
    story = make_story(fund_manager, closed_grant, outcomes=["raised_awareness"])
    result_services.story_update(
        story=story,
        user=fund_manager,
        body="- one\n- <img src=x onerror=alert(1)>two",
        countries=[Country.objects.get(code="MEX")],
    )
    story.refresh_from_db()
    assert story.body_html == "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
    assert [c.code for c in story.countries.all()] == ["MEX"]
    assert [o.code for o in story.outcomes.all()] == ["raised_awareness"]
    assert [s.code for s in story.sectors.all()] == [closed_grant.sector_id]


@pytest.mark.parametrize(
    "fields, errors",
    [
        ({"title": "   "}, {"title"}),
        ({"title": "t" * 201}, {"title"}),
        ({"body": " \n "}, {"body"}),
        ({"body": "b" * 50001}, {"body"}),
        ({"outcomes": ["raised_awareness", "world_peace"]}, {"outcomes"}),
        ({"title": "", "body": ""}, {"title", "body"}),
    ],
)
def test_invalid_content_is_refused_by_field_and_nothing_is_written(
    fund_manager, closed_grant, fields, errors
):
    data = {"title": "A title", "body": "A body.", **fields}
    with pytest.raises(ValidationError) as refused:
        result_services.story_create(user=fund_manager, grant=closed_grant, **data)
    assert set(refused.value.message_dict) == errors
    assert not ResultsStory.objects.exists()


@pytest.mark.parametrize("status", [GrantStatus.DRAFT, GrantStatus.SUBMITTED, GrantStatus.REJECTED])
def test_a_story_needs_an_approved_grant_or_later(funded, leader, fund_manager, status):
    grant = make_grant(leader, status, manager=fund_manager)
    with pytest.raises(ValidationError) as refused:
        make_story(fund_manager, grant)
    assert set(refused.value.message_dict) == {"grant"}


def test_an_update_is_validated_too(fund_manager, closed_grant):
    story = make_story(fund_manager, closed_grant, title="Kept")
    with pytest.raises(ValidationError) as refused:
        result_services.story_update(story=story, user=fund_manager, title="")
    assert set(refused.value.message_dict) == {"title"}
    story.refresh_from_db()
    assert story.title == "Kept"


def test_publishing_and_unpublishing(fund_manager, closed_grant):
    story = make_story(fund_manager, closed_grant)
    published = result_services.story_publish(story=story, user=fund_manager)
    assert published.published is True and published.published_at is not None
    with pytest.raises(ApplicationError) as twice:
        result_services.story_publish(story=story, user=fund_manager)
    assert (twice.value.code, twice.value.status) == ("invalid_transition", 409)

    draft = result_services.story_unpublish(story=story, user=fund_manager)
    assert draft.published is False and draft.published_at is None
    with pytest.raises(ApplicationError) as again:
        result_services.story_unpublish(story=story, user=fund_manager)
    assert (again.value.code, again.value.status) == ("invalid_transition", 409)


@pytest.mark.parametrize("role", ["leader", "donor", "no_role"])
def test_only_fund_managers_write(user_for, fund_manager, closed_grant, role):
    user = user_for(role)
    story = make_story(fund_manager, closed_grant)
    attempts = [
        lambda: make_story(user, closed_grant),
        lambda: result_services.story_update(story=story, user=user, title="Changed"),
        lambda: result_services.story_publish(story=story, user=user),
    ]
    for attempt in attempts:
        with pytest.raises(ApplicationError) as refused:
            attempt()
        assert (refused.value.code, refused.value.status) == ("permission_denied", 403)
    story.refresh_from_db()
    assert (story.title, story.published) == ("Cash transfers reach the poorest", False)
    assert ResultsStory.objects.count() == 1


def test_a_superuser_may_write(superuser, closed_grant):
    assert make_story(superuser, closed_grant, published=True).published


def test_the_database_refuses_a_published_story_without_a_date(fund_manager, closed_grant):
    story = make_story(fund_manager, closed_grant)
    with pytest.raises(IntegrityError):
        ResultsStory.objects.filter(pk=story.pk).update(published=True, published_at=None)
