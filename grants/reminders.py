"""The completion-report reminder job (plain functions; grants/tasks.py wraps them).

For each approved grant (its report not yet submitted): an `upcoming` reminder to its
leader REMINDER_UPCOMING_DAYS before `completion_report_due`, an `overdue` reminder the
day after and then every 7 days, and an `escalation` to every fund manager once the
report is REMINDER_ESCALATION_DAYS overdue.

Exactly once: a reminder is first *claimed* by inserting its row, whose unique
constraint (grant, kind, sequence, recipient) no second run, retry or worker can pass;
then each pending row is sent inside a transaction that holds its row lock and sets
`sent_at`. A send that fails rolls back, leaving the row pending for the next attempt.

Apps above grants (which grants may not import) add reminders of their own kinds to the
same engine and guarantees by registering a :class:`ReminderSource`
(``register_reminder_source``, from their AppConfig.ready): results' ex-post checks.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.mail import send_templated_mail
from accounts.selectors import languages_by_email
from partners.roles import Role

from .models import Grant, GrantStatus, Reminder, ReminderKind

logger = logging.getLogger(__name__)
BATCH = 1000


class ReminderDeliveryError(Exception):
    """Some reminders could not be sent; they stay pending and the job is retried."""


@dataclass
class ReminderRun:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    withdrawn: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReminderSource:
    """Reminders of one kind another app owes, sent by this engine exactly as the
    completion-report ones: claimed by inserting their rows (the unique constraint on
    grant, kind, sequence, recipient), then each sent in its own transaction.

    - ``owed(as_of)``: the unsaved :class:`Reminder` rows owed on that day (sent or not);
    - ``still_owed(reminder)``: whether a pending one should still go (else withdrawn);
    - ``context(reminder, as_of)``: the e-mail's context, beside ``grant`` and ``reminder``;
    - ``template``: the e-mail's template, as ``send_templated_mail`` takes it.
    """

    kind: str
    owed: Callable[[date], Iterable[Reminder]]
    still_owed: Callable[[Reminder], bool]
    context: Callable[[Reminder, date], dict]
    template: str


_SOURCES: dict[str, ReminderSource] = {}


def register_reminder_source(source: ReminderSource) -> None:
    """Add (or replace: AppConfig.ready may run twice in tests) the source of a kind."""
    _SOURCES[source.kind] = source


def reminders_for(grant: Grant, as_of: date, managers: list) -> list[Reminder]:
    """The reminders this grant is owed on ``as_of`` (not yet checked against sent ones)."""
    due = grant.completion_report_due
    leader = grant.task_team_leader
    owed = []
    upcoming_from = due - timedelta(days=settings.REMINDER_UPCOMING_DAYS)
    if upcoming_from <= as_of <= due:
        owed.append((ReminderKind.UPCOMING, 0, [leader]))
    if as_of > due:
        week = (as_of - due - timedelta(days=1)).days // 7
        owed.append((ReminderKind.OVERDUE, week, [leader]))
    if as_of >= due + timedelta(days=settings.REMINDER_ESCALATION_DAYS):
        owed.append((ReminderKind.ESCALATION, 0, managers))
    return [
        Reminder(
            grant=grant,
            kind=kind,
            sequence=sequence,
            due_date=due,
            recipient_user=user,
            recipient=user.email,
        )
        for kind, sequence, users in owed
        for user in users
        if user.email
    ]


def _fund_managers() -> list:
    return list(
        get_user_model()
        .objects.filter(groups__name=Role.FUND_MANAGER, is_active=True)
        .exclude(email="")
        .order_by("pk")
    )


def _claim(owed: list[Reminder]) -> int:
    """Insert the rows of the reminders in ``owed`` not yet claimed; how many were new.

    Those already claimed are filtered out first, so the count is of new reminders and
    a daily run does not re-insert every reminder it already sent. The unique constraint
    stays the guard: a run claiming the same reminder at the same moment is ignored by
    the database (and may then count it too; it is never sent twice).
    """
    keys = {}
    for reminder in owed:
        key = (reminder.grant_id, reminder.kind, reminder.sequence, reminder.recipient)
        keys.setdefault(key, reminder)
    claimed = set(
        Reminder.objects.filter(
            grant_id__in={grant_id for grant_id, *_ in keys},
            sequence__in={sequence for _, _, sequence, _ in keys},
        ).values_list("grant_id", "kind", "sequence", "recipient")
    )
    new = [reminder for key, reminder in keys.items() if key not in claimed]
    Reminder.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def claim_reminders(*, as_of: date) -> int:
    """Insert a row for every reminder owed on ``as_of``; existing ones are left alone.

    Returns how many were new.
    """
    managers = _fund_managers()
    horizon = as_of + timedelta(days=settings.REMINDER_UPCOMING_DAYS)
    grants = (
        Grant.objects.filter(status=GrantStatus.APPROVED, completion_report_due__lte=horizon)
        .select_related("task_team_leader")
        .only("id", "reference", "title", "completion_report_due", "task_team_leader")
        .order_by("pk")
    )
    claimed = 0
    pending: list[Reminder] = []
    for grant in grants.iterator(chunk_size=BATCH):
        pending.extend(reminders_for(grant, as_of, managers))
        if len(pending) >= BATCH:
            claimed += _claim(pending)
            pending = []
    if pending:
        claimed += _claim(pending)
    for source in _SOURCES.values():
        pending = []
        for reminder in source.owed(as_of):
            pending.append(reminder)
            if len(pending) >= BATCH:
                claimed += _claim(pending)
                pending = []
        if pending:
            claimed += _claim(pending)
    return claimed


def _send(reminder: Reminder, as_of: date, languages: dict[str, str] | None = None) -> None:
    grant = reminder.grant
    source = _SOURCES.get(reminder.kind)
    if source is not None:
        send_templated_mail(
            template=source.template,
            to=[reminder.recipient],
            context={"grant": grant, "reminder": reminder, **source.context(reminder, as_of)},
            languages=languages,
        )
        return
    send_templated_mail(
        template=f"grants/email/reminder_{reminder.kind}",
        to=[reminder.recipient],
        languages=languages,
        context={
            "grant": grant,
            "reminder": reminder,
            "due": reminder.due_date,
            "report_url": f"{settings.SITE_URL}/grants/{grant.pk}/report/",
            "days_overdue": (as_of - reminder.due_date).days,
        },
    )


def send_pending_reminders(*, as_of: date) -> ReminderRun:
    """Send every claimed reminder not yet sent, each in its own transaction.

    A pending reminder whose grant is no longer approved (its report was submitted, or
    it was cancelled, while the reminder waited to be resent) is no longer owed: it is
    withdrawn, not sent. No grant returns to approved, so it is never claimed again.
    A reminder of a registered source is withdrawn when its ``still_owed`` says so.
    """
    run = ReminderRun()
    skip_locked = connection.features.has_select_for_update_skip_locked
    pending = list(
        Reminder.objects.filter(sent_at__isnull=True).order_by("pk").values_list("pk", "recipient")
    )
    languages: dict[str, str] = {}
    for index, (pk, _) in enumerate(pending):
        if index % BATCH == 0:
            # The recipients' languages, read once for the next BATCH reminders (not once
            # per e-mail: a backlog of thousands would read them thousands of times).
            languages = languages_by_email({to for _, to in pending[index : index + BATCH]})
        try:
            with transaction.atomic():
                # Another worker sending the same reminder holds its lock: skip it. Only
                # the reminder's row is locked (of=self): the grant and its leader stay
                # free for the workflow and logins while the mail server answers.
                reminder = (
                    Reminder.objects.select_for_update(skip_locked=skip_locked, of=("self",))
                    .select_related("grant", "grant__task_team_leader")
                    .filter(pk=pk, sent_at__isnull=True)
                    .first()
                )
                if reminder is None:
                    continue
                source = _SOURCES.get(reminder.kind)
                if (
                    not source.still_owed(reminder)
                    if source is not None
                    else reminder.grant.status != GrantStatus.APPROVED
                ):
                    reminder.delete()
                    run.withdrawn += 1
                    continue
                _send(reminder, as_of, languages)
                reminder.sent_at = timezone.now()
                reminder.attempts += 1
                reminder.last_error = ""
                reminder.save(update_fields=["sent_at", "attempts", "last_error"])
                run.sent += 1
        except SoftTimeLimitExceeded:
            # The task's time is up: stop here (this reminder rolled back, still pending)
            # rather than go on sending until the hard limit kills the worker mid-send.
            raise
        except Exception as exc:  # noqa: BLE001 - any mail failure leaves it pending
            run.failed += 1
            run.errors.append(f"reminder {pk}: {exc}")
            logger.warning("Completion-report reminder %s not sent: %s", pk, exc)
            Reminder.objects.filter(pk=pk, sent_at__isnull=True).update(
                attempts=F("attempts") + 1, last_error=str(exc)[:500]
            )
    return run


def run_reminders(*, as_of: date) -> ReminderRun:
    """The whole job as of a date: claim what is owed, send what is pending.

    Raises ReminderDeliveryError when a send failed (after sending all it could), so
    the Celery task retries with backoff; nothing failed is marked sent.
    """
    claimed = claim_reminders(as_of=as_of)
    run = send_pending_reminders(as_of=as_of)
    run.claimed = claimed
    # Not logged here: each caller says what the run did once, in its own way (`run_jobs`
    # prints it; Celery logs the task's return value).
    if run.failed:
        raise ReminderDeliveryError("; ".join(run.errors[:5]))
    return run
