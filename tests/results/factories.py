"""Results test data made through the services: grants taken to their end with a report
of chosen lessons and outcomes, exchanges of chosen instruments, and stories."""

from datetime import date

from grants import services as grant_services
from grants.models import Grant, GrantStatus
from partners.models import Country, Sector
from results import services as result_services
from tests.grants.factories import REPORT, make_grant


def finished_grant(
    leader,
    manager,
    *,
    status=GrantStatus.CLOSED,
    lessons=REPORT["lessons"],
    outcomes=None,
    instruments=(),
    accept=True,
    **overrides,
) -> Grant:
    """A grant approved, with exchanges of these instruments, its report submitted
    (the grant completed), then accepted and closed unless told otherwise."""
    if "recipient_countries" in overrides:
        overrides["recipient_countries"] = [
            Country.objects.get(code=code) for code in overrides["recipient_countries"]
        ]
        overrides.setdefault("provider_countries", [])
    if "sector" in overrides:
        overrides["sector"] = Sector.objects.get(code=overrides["sector"])
    grant = make_grant(leader, GrantStatus.APPROVED, manager=manager, **overrides)
    for instrument in instruments:
        grant_services.exchange_create(
            grant=grant,
            user=manager,
            instrument=instrument,
            title=f"A {instrument}",
            start_date=date(2026, 2, 1),
            end_date=date(2026, 2, 5),
            status="held",
        )
    report = {**REPORT, "lessons": lessons}
    if outcomes is not None:
        report["outcomes_achieved"] = list(outcomes)
    result_services.completion_report_save(grant=grant, user=leader, **report)
    result_services.completion_report_submit(grant=grant, user=leader)
    if accept:
        result_services.completion_report_accept(grant=grant, user=manager)
        if status == GrantStatus.CLOSED:
            grant = grant_services.grant_transition(grant=grant, user=manager, action="close")
    grant.refresh_from_db()
    return grant


def make_story(
    manager,
    grant,
    *,
    published=False,
    title="Cash transfers reach the poorest",
    body="Officials **learned** from their peers.",
    **fields,
):
    story = result_services.story_create(
        user=manager, grant=grant, title=title, body=body, **fields
    )
    if published:
        story = result_services.story_publish(story=story, user=manager)
    return story


def review_lessons(manager, grants=None):
    """Approve the lessons waiting for review (of these grants): what a fund manager
    does before they reach the public hub."""
    from results.models import Lesson, LessonReview

    lessons = Lesson.objects.filter(review_status=LessonReview.PENDING)
    if grants is not None:
        lessons = lessons.filter(grant__in=grants)
    for lesson in lessons.order_by("pk"):  # oldest first: the newest review is the last
        result_services.lesson_approve(lesson=lesson, user=manager)
