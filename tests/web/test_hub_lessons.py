"""The knowledge hub's lessons: reviewed lessons only, filtered by evidence level and
sector (and the hub's other filters), alongside the stories."""

import pytest

from results import services
from results.models import Lesson
from tests.results.factories import finished_grant, review_lessons
from tests.web.pages import page

pytestmark = pytest.mark.django_db


@pytest.fixture
def lessons(funded, leader, fund_manager):
    water = finished_grant(
        leader, fund_manager, sector="14010", lessons="Leak detection is learned on site."
    )
    cash = finished_grant(leader, fund_manager, lessons="Targeting needs a registry.")
    review_lessons(fund_manager)
    Lesson.objects.filter(grant=cash).update(evidence_level="participant_feedback")
    waiting = finished_grant(leader, fund_manager, lessons="Not yet reviewed.")
    returned = finished_grant(leader, fund_manager, lessons="Sent back.")
    services.lesson_return(
        lesson=Lesson.objects.get(grant=returned), user=fund_manager, comment="Vague."
    )
    return {"water": water, "cash": cash, "waiting": waiting}


def _lessons(response):
    assert response.status_code == 200
    return [
        " ".join(card.text.split()) for card in page(response).find_all(data_testid="lesson-card")
    ]


def test_the_hub_shows_reviewed_lessons_only(web, lessons):
    cards = _lessons(web().get("/hub/"))
    assert len(cards) == 2
    text = " ".join(cards)
    assert "Leak detection is learned on site." in text and "Targeting needs" in text
    assert "Not yet reviewed." not in text and "Sent back." not in text
    response = web().get("/hub/")
    assert page(response).testid("lesson-count").text.startswith("2 reviewed lessons")


@pytest.mark.parametrize("who", [None, "fund_manager", "leader", "donor"])
def test_the_hub_is_the_same_for_everyone(web, lessons, who):
    assert len(_lessons(web(who).get("/hub/"))) == 2


def test_the_hub_filters_lessons_by_evidence_level_and_sector(web, lessons):
    feedback = _lessons(web().get("/hub/?evidence_level=participant_feedback"))
    assert len(feedback) == 1 and "Targeting needs a registry." in feedback[0]
    assert "Participant feedback" in feedback[0]
    water = _lessons(web().get("/hub/?sector=14010"))
    assert len(water) == 1 and "Leak detection" in water[0] and "Self-reported" in water[0]
    assert _lessons(web().get("/hub/?sector=14010&evidence_level=participant_feedback")) == []
    assert _lessons(web().get("/hub/?evidence_level=independent_review")) == []
    # The form offers the evidence levels and keeps the one chosen.
    response = web().get("/hub/?evidence_level=participant_feedback")
    assert page(response).find("select", name="evidence_level") is not None
    assert b'<option value="participant_feedback" selected>' in response.content


def test_a_bad_evidence_level_lists_no_lesson_and_says_so(web, lessons):
    response = web().get("/hub/?evidence_level=rumour")
    assert _lessons(response) == []
    assert b"Select a valid choice" in response.content
