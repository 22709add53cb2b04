"""The completion-report reminder job driven through a calendar, day by day, as Celery
beat runs it: the right reminders on the right days, none twice, escalations only when
due, nothing for grants that owe no report."""

import logging
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from grants.models import GrantStatus, Reminder, ReminderKind
from grants.reminders import run_reminders
from results import services as results_services
from tests.grants.factories import REPORT, make_grant

from .conftest import DUE, days, on_day

pytestmark = pytest.mark.django_db


def walk(start, end, *, runs_per_day=1):
    """Run the job on every day from start to end; what was e-mailed on which day."""
    sent = defaultdict(list)
    for day in days(start, end):
        with on_day(day):
            for _ in range(runs_per_day):
                before = len(mail.outbox)
                run_reminders(as_of=day)
                sent[day] += [(m.to[0], m.subject) for m in mail.outbox[before:]]
    return {day: mails for day, mails in sent.items() if mails}


def expected_calendar(leader, managers):
    """What the issue asks for a report due on DUE, from DUE-30 to DUE+45."""
    expected = {DUE - timedelta(days=14): [(leader.email, "upcoming")]}
    for week, offset in enumerate([1, 8, 15, 22, 29, 36, 43]):
        expected[DUE + timedelta(days=offset)] = [(leader.email, f"overdue {week}")]
    expected[DUE + timedelta(days=30)] = [(m.email, "escalation") for m in managers]
    return expected


@pytest.mark.parametrize("runs_per_day", [1, 2])
def test_a_grant_walked_day_by_day_gets_each_reminder_once_on_its_day(
    approved_grant, leader, managers, runs_per_day
):
    start, end = DUE - timedelta(days=30), DUE + timedelta(days=45)
    sent = walk(start, end, runs_per_day=runs_per_day)

    # Name each e-mail by the reminder row that was sent that day.
    by_day = defaultdict(list)
    for reminder in Reminder.objects.filter(grant=approved_grant):
        label = reminder.kind
        if reminder.kind == ReminderKind.OVERDUE:
            label = f"overdue {reminder.sequence}"
        by_day[reminder.sent_at.date()].append((reminder.recipient, label))
    assert {day: sorted(v) for day, v in by_day.items()} == {
        day: sorted(v) for day, v in expected_calendar(leader, managers).items()
    }
    # The e-mails went out on exactly those days, one per reminder, to those people.
    assert sorted(sent) == sorted(by_day)
    for day, mails in sent.items():
        assert sorted(to for to, _ in mails) == sorted(to for to, _ in by_day[day])
    assert len(mail.outbox) == Reminder.objects.count() == 7 + 1 + len(managers)
    assert not Reminder.objects.filter(sent_at__isnull=True).exists()
    assert set(Reminder.objects.values_list("attempts", flat=True)) == {1}


def test_the_upcoming_reminder_goes_on_the_14th_day_before_and_never_again(approved_grant):
    for day in days(DUE - timedelta(days=20), DUE - timedelta(days=15)):
        with on_day(day):
            run_reminders(as_of=day)
    assert mail.outbox == []
    for day in days(DUE - timedelta(days=14), DUE):
        with on_day(day):
            run_reminders(as_of=day)
            run_reminders(as_of=day)
    assert [m.subject for m in mail.outbox] == [
        f"Completion report for {approved_grant.reference} due on 2026-08-29"
    ]
    (reminder,) = Reminder.objects.all()
    assert (reminder.kind, reminder.sequence, reminder.due_date) == ("upcoming", 0, DUE)
    assert reminder.sent_at.date() == DUE - timedelta(days=14)


def test_a_first_run_inside_the_window_still_sends_the_upcoming_reminder(approved_grant):
    """A job that did not run on the 14th day before (a worker down) catches up later."""
    day = DUE - timedelta(days=3)
    with on_day(day):
        run_reminders(as_of=day)
    assert [r.kind for r in Reminder.objects.all()] == ["upcoming"]
    assert len(mail.outbox) == 1


def test_the_escalation_goes_to_every_fund_manager_once_on_the_30th_day(
    approved_grant, managers, leader, make_user
):
    from partners.roles import Role

    inactive = make_user("fm-gone", Role.FUND_MANAGER)
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    for day in days(DUE + timedelta(days=25), DUE + timedelta(days=29)):
        with on_day(day):
            run_reminders(as_of=day)
    assert not Reminder.objects.filter(kind=ReminderKind.ESCALATION).exists()
    assert {m.to[0] for m in mail.outbox} == {leader.email}

    mail.outbox.clear()
    for day in days(DUE + timedelta(days=30), DUE + timedelta(days=40)):
        with on_day(day):
            run_reminders(as_of=day)
            run_reminders(as_of=day)
    escalations = [m for m in mail.outbox if m.subject.startswith("Escalation")]
    assert sorted(m.to[0] for m in escalations) == sorted(m.email for m in managers)
    assert all(len(m.to) == 1 for m in escalations)
    rows = Reminder.objects.filter(kind=ReminderKind.ESCALATION)
    assert sorted(rows.values_list("recipient", flat=True)) == sorted(m.email for m in managers)
    assert {r.sent_at.date() for r in rows} == {DUE + timedelta(days=30)}
    assert "is 30 days overdue" in escalations[0].subject


def test_grants_that_owe_no_report_get_no_reminders(funded, leader, managers):
    manager = managers[0]
    with on_day(date(2026, 1, 5)):
        owed = {
            status: make_grant(leader, status, manager=manager)
            for status in [
                GrantStatus.DRAFT,
                GrantStatus.SUBMITTED,
                GrantStatus.UNDER_REVIEW,
                GrantStatus.RETURNED,
                GrantStatus.REJECTED,
                GrantStatus.CANCELLED,
                GrantStatus.COMPLETED,
                GrantStatus.CLOSED,
            ]
        }
    assert {g.completion_report_due for g in owed.values()} == {DUE}
    walk(DUE - timedelta(days=20), DUE + timedelta(days=40))
    # The closed grant's 6-month ex-post check fell due on 2026-07-05, more than 30 days
    # before the walk: it is not chased any more (results.reminders.CATCH_UP_DAYS).
    assert mail.outbox == []
    assert not Reminder.objects.exists()


def test_a_report_written_but_not_submitted_is_still_reminded(approved_grant, leader):
    with on_day(date(2026, 7, 1)):
        results_services.completion_report_save(grant=approved_grant, user=leader, **REPORT)
    walk(DUE + timedelta(days=1), DUE + timedelta(days=1))
    assert [r.kind for r in Reminder.objects.all()] == ["overdue"]


def test_submitting_the_report_stops_the_reminders(approved_grant, leader):
    walk(DUE - timedelta(days=14), DUE + timedelta(days=9))
    assert Reminder.objects.count() == 3  # upcoming, overdue 0 and 1
    with on_day(DUE + timedelta(days=10)):
        results_services.completion_report_save(grant=approved_grant, user=leader, **REPORT)
        results_services.completion_report_submit(grant=approved_grant, user=leader)
    mail.outbox.clear()
    walk(DUE + timedelta(days=10), DUE + timedelta(days=60))
    assert mail.outbox == []
    assert Reminder.objects.count() == 3


def test_the_upcoming_window_and_escalation_follow_the_settings(approved_grant, settings):
    settings.REMINDER_UPCOMING_DAYS = 7
    settings.REMINDER_ESCALATION_DAYS = 10
    sent = walk(DUE - timedelta(days=14), DUE + timedelta(days=12))
    kinds_by_day = {
        day: sorted(r.kind for r in Reminder.objects.filter(sent_at__date=day)) for day in sent
    }
    assert kinds_by_day == {
        DUE - timedelta(days=7): ["upcoming"],
        DUE + timedelta(days=1): ["overdue"],
        DUE + timedelta(days=8): ["overdue"],
        DUE + timedelta(days=10): ["escalation", "escalation"],
    }


def test_several_grants_are_reminded_each_on_its_own_calendar(funded, leader, leader2, managers):
    with on_day(date(2026, 1, 5)):
        first = make_grant(leader, GrantStatus.APPROVED, manager=managers[0])
        second = make_grant(
            leader2, GrantStatus.APPROVED, manager=managers[0], planned_end=date(2026, 7, 10)
        )
    assert second.completion_report_due == DUE + timedelta(days=10)
    walk(DUE - timedelta(days=14), DUE + timedelta(days=11))
    rows = Reminder.objects.order_by("sent_at", "pk")
    assert [(r.grant_id, r.kind, r.sequence, r.sent_at.date()) for r in rows] == [
        (first.pk, "upcoming", 0, DUE - timedelta(days=14)),
        (second.pk, "upcoming", 0, DUE - timedelta(days=4)),
        (first.pk, "overdue", 0, DUE + timedelta(days=1)),
        (first.pk, "overdue", 1, DUE + timedelta(days=8)),
        (second.pk, "overdue", 0, DUE + timedelta(days=11)),
    ]
    assert {r.recipient for r in rows if r.grant_id == second.pk} == {leader2.email}


def test_the_job_reports_what_it_claimed_and_sent(approved_grant):
    day = DUE + timedelta(days=1)
    with on_day(day):
        first = run_reminders(as_of=day)
        again = run_reminders(as_of=day)
    assert (first.claimed, first.sent, first.failed) == (1, 1, 0)
    assert (again.claimed, again.sent, again.failed) == (0, 0, 0)


# --- The e-mails ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "kind", "subject"),
    [
        (-14, "upcoming", "Completion report for {ref} due on 2026-08-29"),
        (1, "overdue", "Overdue: the completion report for {ref} was due on 2026-08-29"),
        (30, "escalation", "Escalation: the completion report for {ref} is 30 days overdue"),
    ],
)
def test_each_e_mail_has_text_and_html_naming_the_grant_due_date_and_report_link(
    approved_grant, offset, kind, subject, settings
):
    day = DUE + timedelta(days=offset)
    with on_day(day):
        run_reminders(as_of=day)
    sent = Reminder.objects.filter(kind=kind).first()
    message = next(m for m in mail.outbox if m.to == [sent.recipient])
    ref = approved_grant.reference
    link = f"https://seetf.example.org/grants/{approved_grant.pk}/report/"
    assert message.subject == subject.format(ref=ref)
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    for body in (message.body, html):
        assert ref in body
        assert "2026-08-29" in body
        assert link in body
    assert approved_grant.title in message.body
    assert f'href="{link}"' in html
    assert "<html" not in message.body and "<html" in html


def test_html_escapes_the_grant_title(funded, leader, managers):
    with on_day(date(2026, 1, 5)):
        grant = make_grant(
            leader, GrantStatus.APPROVED, manager=managers[0], title="Cash <b>transfers</b> & co"
        )
    day = DUE + timedelta(days=1)
    with on_day(day):
        run_reminders(as_of=day)
    (message,) = mail.outbox
    ((html, _),) = message.alternatives
    assert "Cash &lt;b&gt;transfers&lt;/b&gt; &amp; co" in html
    assert "Cash <b>transfers</b> & co" in message.body
    assert grant.reference in html


# --- run_jobs: the same job from the command line ----------------------------------------


def test_run_jobs_walked_through_the_calendar_sends_the_same_reminders(
    approved_grant, leader, managers
):
    for day in days(DUE - timedelta(days=30), DUE + timedelta(days=45)):
        with on_day(day):
            call_command("run_jobs", date=day.isoformat())
    by_day = defaultdict(list)
    for reminder in Reminder.objects.all():
        label = reminder.kind
        if reminder.kind == ReminderKind.OVERDUE:
            label = f"overdue {reminder.sequence}"
        by_day[reminder.sent_at.date()].append((reminder.recipient, label))
    assert {day: sorted(v) for day, v in by_day.items()} == {
        day: sorted(v) for day, v in expected_calendar(leader, managers).items()
    }
    reminder_mails = [m for m in mail.outbox if "completion report" in m.subject.lower()]
    assert len(reminder_mails) == Reminder.objects.count()


def test_run_jobs_takes_the_date_and_says_what_it_did(approved_grant, capsys):
    day = DUE + timedelta(days=1)
    call_command("run_jobs", date=day.isoformat())
    out = capsys.readouterr().out
    assert f"Reminders as of {day}: 1 new, 1 sent." in out
    assert "Fund check:" in out
    call_command("run_jobs", date=day.isoformat())
    assert f"Reminders as of {day}: 0 new, 0 sent." in capsys.readouterr().out
    assert Reminder.objects.count() == 1


def test_run_jobs_says_each_result_once(approved_grant, capsys, caplog):
    """On the console, the command's own lines: the jobs log nothing more at INFO (they
    used to log the same results again in other words)."""
    from collaboration.models import Notification

    day = DUE + timedelta(days=1)
    # The approval's notifications, not e-mailed (no commit here): run_jobs catches up.
    waiting = Notification.objects.filter(emailed_at=None).count()
    assert waiting > 0
    with caplog.at_level(logging.INFO):
        call_command("run_jobs", date=day.isoformat())
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"Reminders as of {day}: 1 new, 1 sent.",
        "Fund check: raised none, resolved none, 0 e-mailed.",
        f"Notification e-mails: {waiting} sent.",
        f"Daily digests as of {day}: 0 notifications sent.",
    ]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []


def test_run_jobs_without_a_date_runs_as_of_today(approved_grant, capsys):
    with on_day(DUE + timedelta(days=8)):
        call_command("run_jobs")
    (reminder,) = Reminder.objects.all()
    assert (reminder.kind, reminder.sequence) == ("overdue", 1)


def test_run_jobs_refuses_a_malformed_date(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_jobs", date="29/08/2026")


# --- Exactly once, in the database ---------------------------------------------------------


def test_the_database_refuses_a_second_row_for_the_same_reminder(approved_grant, leader):
    """Not only a check in Python: the unique constraint stops a second claim."""
    from django.db import IntegrityError, transaction

    fields = {
        "grant": approved_grant,
        "kind": ReminderKind.OVERDUE,
        "sequence": 2,
        "due_date": DUE,
        "recipient": leader.email,
    }
    Reminder.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(**fields)
    Reminder.objects.create(**{**fields, "sequence": 3})
    assert Reminder.objects.count() == 2


# --- Ex-post reminders (results, a source of the same engine) ---------------------------

CLOSED_ON = date(2026, 9, 15)


@pytest.fixture
def closed_grant(funded, leader, managers):
    """A grant closed on CLOSED_ON: its ex-post checks are due on 2027-03-15 and
    2027-09-15."""
    from tests.results.factories import finished_grant

    with on_day(CLOSED_ON):
        grant = finished_grant(leader, managers[0])
    assert sorted(grant.ex_post_checks.values_list("due_on", flat=True)) == [
        date(2027, 3, 15),
        date(2027, 9, 15),
    ]
    return grant


def test_ex_post_reminders_go_on_their_days_once_each(closed_grant, leader, managers):
    """Walked from the day before the first check falls due to past the second, twice a
    day: one reminder to the leader on each due date, none again while unfiled."""
    sent = walk(date(2027, 3, 14), date(2027, 3, 25), runs_per_day=2)
    sent.update(walk(date(2027, 9, 13), date(2027, 9, 20), runs_per_day=2))
    assert sent == {
        date(2027, 3, 15): [
            (leader.email, f"Ex-post check for {closed_grant.reference}: 6 months after closing")
        ],
        date(2027, 9, 15): [
            (leader.email, f"Ex-post check for {closed_grant.reference}: 12 months after closing")
        ],
    }
    rows = Reminder.objects.filter(kind=ReminderKind.EX_POST).order_by("sequence")
    assert [(r.sequence, r.due_date, r.sent_at.date(), r.attempts) for r in rows] == [
        (6, date(2027, 3, 15), date(2027, 3, 15), 1),
        (12, date(2027, 9, 15), date(2027, 9, 15), 1),
    ]
    (message, _) = mail.outbox
    link = f"https://seetf.example.org/grants/{closed_grant.pk}/ex-post/6/"
    ((html, _),) = message.alternatives
    assert link in message.body and f'href="{link}"' in html
    assert "2027-03-15" in message.body


def test_a_check_filed_before_its_reminder_is_not_reminded(closed_grant, leader):
    from results import services as results_services

    check = closed_grant.ex_post_checks.get(months_after_close=6)
    with on_day(check.due_on):
        results_services.ex_post_check_file(check=check, user=leader, pilot_funded=True)
    walk(date(2027, 3, 15), date(2027, 3, 20))
    assert mail.outbox == []
    assert not Reminder.objects.exists()


def test_an_ex_post_reminder_left_pending_is_withdrawn_once_the_check_is_filed(
    closed_grant, leader, settings
):
    """Claimed on its day while the mail server was down, then the leader files the
    check: the next run withdraws it instead of sending it."""
    from results import services as results_services

    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.RefusedBackend"
    with on_day(date(2027, 3, 15)), pytest.raises(Exception, match="refused"):
        run_reminders(as_of=date(2027, 3, 15))
    (pending,) = Reminder.objects.filter(sent_at__isnull=True)
    assert (pending.kind, pending.sequence, pending.attempts) == ("ex_post", 6, 1)
    check = closed_grant.ex_post_checks.get(months_after_close=6)
    with on_day(date(2027, 3, 16)):
        results_services.ex_post_check_file(check=check, user=leader, reform_enacted=True)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with on_day(date(2027, 3, 16)):
        run = run_reminders(as_of=date(2027, 3, 16))
    assert (run.claimed, run.sent, run.withdrawn) == (0, 0, 1)
    assert mail.outbox == [] and not Reminder.objects.exists()


def test_an_ex_post_reminder_is_caught_up_within_30_days_of_its_due_date_not_later(
    closed_grant, leader
):
    walk(date(2027, 4, 14), date(2027, 4, 20))  # the 6-month check: due 2027-03-15
    assert [(r.sequence, r.sent_at.date()) for r in Reminder.objects.all()] == [
        (6, date(2027, 4, 14))
    ]
    Reminder.objects.all().delete()
    mail.outbox.clear()
    walk(date(2027, 4, 15), date(2027, 4, 20))
    assert mail.outbox == []


def test_an_ex_post_reminder_the_mail_server_refused_goes_the_next_day(
    closed_grant, leader, settings
):
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.RefusedBackend"
    with on_day(date(2027, 3, 15)), pytest.raises(Exception, match="refused"):
        run_reminders(as_of=date(2027, 3, 15))
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    walk(date(2027, 3, 16), date(2027, 3, 18))
    (reminder,) = Reminder.objects.all()
    assert (reminder.kind, reminder.sent_at.date(), reminder.attempts) == (
        "ex_post",
        date(2027, 3, 16),
        2,
    )
    assert len(mail.outbox) == 1
