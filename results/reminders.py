"""The ex-post reminders (kind ``ex_post``): one to the leader of a closed grant for each
ex-post check not filed by its due date, sent on that day (or the first run after it).
A check due more than ``CATCH_UP_DAYS`` ago is not reminded any more. A source of the
grants reminder engine (``grants.reminders.ReminderSource``), so they
are claimed and sent exactly as the completion-report reminders: claimed by inserting
their row (unique on grant, kind, sequence = the check's months, recipient), each sent
in its own transaction, a failed send left pending, never sent twice."""

from datetime import date, timedelta

from django.conf import settings

from grants.models import Reminder, ReminderKind
from grants.reminders import ReminderSource

from .models import ExPostCheck

# A check not filed is reminded on its due date, or on the first run after it within
# this many days (a worker down, a missed beat); not later: a grant of the past imported
# with checks due years ago is not chased for them.
CATCH_UP_DAYS = 30


def owed(as_of: date):
    checks = (
        ExPostCheck.objects.filter(
            submitted_at__isnull=True,
            due_on__lte=as_of,
            due_on__gte=as_of - timedelta(days=CATCH_UP_DAYS),
        )
        .select_related("grant__task_team_leader")
        .order_by("pk")
    )
    for check in checks.iterator(chunk_size=1000):
        leader = check.grant.task_team_leader
        if leader.email:
            yield Reminder(
                grant_id=check.grant_id,
                kind=ReminderKind.EX_POST,
                sequence=check.months_after_close,
                due_date=check.due_on,
                recipient_user=leader,
                recipient=leader.email,
            )


def still_owed(reminder: Reminder) -> bool:
    """Not once the check is filed."""
    return ExPostCheck.objects.filter(
        grant_id=reminder.grant_id,
        months_after_close=reminder.sequence,
        submitted_at__isnull=True,
    ).exists()


def context(reminder: Reminder, as_of: date) -> dict:
    return {
        "months": reminder.sequence,
        "due": reminder.due_date,
        "check_url": f"{settings.SITE_URL}/grants/{reminder.grant_id}/ex-post/{reminder.sequence}/",
    }


EX_POST_REMINDERS = ReminderSource(
    kind=ReminderKind.EX_POST,
    owed=owed,
    still_owed=still_owed,
    context=context,
    template="results/email/reminder_ex_post",
)
