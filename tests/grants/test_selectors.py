"""grants.selectors.overdue_reports: the one condition for an overdue completion report,
which the fund manager's home lists and the reminder job reminds of."""

from datetime import timedelta

import pytest

from grants.models import Grant, GrantStatus, ReminderKind
from grants.reminders import reminders_for
from grants.selectors import overdue_reports
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant

pytestmark = pytest.mark.django_db


def test_an_approved_grant_is_overdue_from_the_day_after_its_report_was_due(
    leader, fund_manager, funded
):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    due = grant.completion_report_due
    grants = Grant.objects.all()
    assert not overdue_reports(grants, due - timedelta(days=1)).exists()
    assert not overdue_reports(grants, due).exists()
    assert list(overdue_reports(grants, due + timedelta(days=1))) == [grant]


def test_a_submitted_report_is_not_overdue(leader, fund_manager, funded):
    """Submitting the report completes the grant: completed and closed grants are never
    overdue, however long ago their report was due."""
    completed = finished_grant(leader, fund_manager, accept=False)
    closed = finished_grant(leader, fund_manager)
    later = max(completed.completion_report_due, closed.completion_report_due)
    assert not overdue_reports(Grant.objects.all(), later + timedelta(days=365)).exists()


def test_it_narrows_the_queryset_it_is_given(leader, leader2, fund_manager, funded):
    mine = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    make_grant(leader2, GrantStatus.APPROVED, manager=fund_manager)
    later = mine.completion_report_due + timedelta(days=400)
    assert list(overdue_reports(Grant.objects.filter(task_team_leader=leader), later)) == [mine]


def test_the_reminder_job_owes_an_overdue_reminder_for_exactly_these_grants(
    leader, fund_manager, funded
):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    due = grant.completion_report_due
    for days in range(-3, 4):
        as_of = due + timedelta(days=days)
        owed = {reminder.kind for reminder in reminders_for(grant, as_of, [fund_manager])}
        listed = overdue_reports(Grant.objects.filter(pk=grant.pk), as_of).exists()
        assert (ReminderKind.OVERDUE in owed) == listed, as_of
