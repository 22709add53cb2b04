"""Who is told of what, e-mailed how and how often: each event of the workflow to the
right people, preferences respected, nothing for a change that rolls back, each e-mail
exactly once however often the job runs, a mail server that is down loses none, and the
daily digest groups a day's events per user."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from collaboration import delivery, services
from collaboration.delivery import NotificationDeliveryError
from collaboration.models import Delivery, Notification, NotificationKind
from grants import services as grant_services
from grants.models import GrantStatus
from results import services as results_services
from tests.grants.factories import REPORT, make_grant

from .conftest import told

pytestmark = pytest.mark.django_db
K = NotificationKind
SITE = "https://seetf.example.org"


def at(day: date, hour: int = 9):
    return time_machine.travel(timezone.make_aware(datetime.combine(day, time(hour))), tick=False)


def test_a_submitted_proposal_tells_the_fund_managers_and_the_window_approvers(
    funded, leader, fund_manager, fund_manager2, window, window_manager, donor, leader2
):
    grant = make_grant(leader, window=window)
    grant_services.grant_transition(grant=grant, user=leader, action="submit", comment="Urgent")
    assert told() == [("fm", K.SUBMITTED), ("fm2", K.SUBMITTED), ("wm", K.SUBMITTED)]
    note = Notification.objects.filter(user=window_manager).get()
    grant.refresh_from_db()
    assert note.grant == grant and note.path == f"/grants/{grant.pk}/"
    assert grant.reference in note.text and "100,000.00 USD" in note.text
    assert 'Their comment: "Urgent"' in note.text


def test_a_proposal_outside_a_window_tells_the_fund_managers_only(
    funded, leader, fund_manager, window_manager
):
    make_grant(leader, GrantStatus.SUBMITTED)
    assert told() == [("fm", K.SUBMITTED)]


@pytest.mark.parametrize(
    ("action", "kind", "words"),
    [
        ("return", K.RETURNED, "was returned for revision by fm"),
        ("reject", K.REJECTED, "was rejected by fm"),
        ("approve", K.APPROVED, "was approved for 80,000.00 USD by fm"),
    ],
)
def test_a_decision_tells_the_leader_with_the_comment_and_the_amount(
    funded, leader, fund_manager, fund_manager2, action, kind, words
):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    Notification.objects.all().delete()
    inputs = {"approved_usd": Decimal("80000.00")} if action == "approve" else {}
    grant_services.grant_transition(
        grant=grant, user=fund_manager, action=action, comment="See the budget.", **inputs
    )
    assert told() == [("ttl", kind)]
    text = Notification.objects.get().text
    assert words in text and 'Their comment: "See the budget."' in text


def test_start_review_and_cancel_tell_nobody(funded, leader, fund_manager):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    Notification.objects.all().delete()
    grant_services.grant_transition(grant=grant, user=fund_manager, action="start-review")
    assert told() == []


def test_a_disbursement_tells_the_leader(funded, leader, fund_manager):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    Notification.objects.all().delete()
    grant_services.disbursement_record(
        grant=grant, user=fund_manager, amount_usd=Decimal("2500.00"), disbursed_on=date(2026, 2, 1)
    )
    (note,) = Notification.objects.all()
    assert (note.user, note.kind) == (leader, K.DISBURSEMENT)
    assert "2,500.00 USD was disbursed" in note.text and "2026-02-01" in note.text


def test_a_report_submitted_tells_the_managers_and_accepted_the_leader(
    funded, leader, fund_manager, fund_manager2
):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    Notification.objects.all().delete()
    results_services.completion_report_save(grant=grant, user=leader, **REPORT)
    results_services.completion_report_submit(grant=grant, user=leader)
    assert told() == [("fm", K.REPORT_SUBMITTED), ("fm2", K.REPORT_SUBMITTED)]
    assert Notification.objects.first().path == f"/grants/{grant.pk}/report/"
    Notification.objects.all().delete()
    results_services.completion_report_accept(grant=grant, user=fund_manager)
    assert told() == [("ttl", K.REPORT_ACCEPTED)]


def test_the_importers_decisions_of_the_past_tell_nobody(funded, leader, fund_manager):
    grant = make_grant(leader)
    grant_services.grant_transition(
        grant=grant, user=leader, action="submit", at=timezone.now() - timedelta(days=400)
    )
    assert told() == []


def test_nothing_is_made_nor_sent_for_a_change_that_rolls_back(
    funded, leader, fund_manager, django_capture_on_commit_callbacks
):
    grant = make_grant(leader)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            grant_services.grant_transition(grant=grant, user=leader, action="submit")
            assert told() == [("fm", K.SUBMITTED)]  # made inside the transaction
            raise RuntimeError("the request fails after the change")
    assert told() == [] and callbacks == [] and mail.outbox == []


def test_the_e_mail_goes_once_the_transaction_commits_with_a_link_to_the_site(
    funded, leader, fund_manager, django_capture_on_commit_callbacks
):
    grant = make_grant(leader)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        grant_services.grant_transition(grant=grant, user=leader, action="submit")
    assert mail.outbox == [] and len(callbacks) == 1  # queued, not sent, inside it
    callbacks[0]()
    (message,) = mail.outbox
    grant.refresh_from_db()
    assert message.to == ["fm@example.org"]
    assert message.subject == f"[{grant.reference}] A proposal was submitted"
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert f"{SITE}/grants/{grant.pk}/" in body and grant.reference in body
        assert f"{SITE}/notifications/preferences/" in body
    assert Notification.objects.get().emailed_at is not None


def test_one_transaction_queues_the_e_mail_job_once(
    funded, leader, fund_manager, django_capture_on_commit_callbacks
):
    first, second = make_grant(leader), make_grant(leader)
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        grant_services.grant_transition(grant=first, user=leader, action="submit")
        grant_services.grant_transition(grant=second, user=leader, action="submit")
    assert len(callbacks) == 1


def test_each_e_mail_is_sent_once_however_often_the_job_runs(funded, leader, fund_manager):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    grant_services.grant_transition(grant=grant, user=fund_manager, action="return", comment="x")
    assert Notification.objects.filter(emailed_at=None).count() == 2
    assert delivery.run_pending().sent == 2
    assert delivery.run_pending().sent == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["fm@example.org", "ttl@example.org"]


def test_a_mail_server_that_is_down_loses_nothing(settings, funded, leader, fund_manager):
    make_grant(leader, GrantStatus.SUBMITTED)
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.RefusedBackend"
    with pytest.raises(NotificationDeliveryError, match="refused"):
        delivery.run_pending()
    (note,) = Notification.objects.all()
    assert note.emailed_at is None and note.attempts == 1 and "refused" in note.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert delivery.run_pending().sent == 1
    note.refresh_from_db()
    assert note.emailed_at is not None and note.attempts == 2 and note.last_error == ""
    assert len(mail.outbox) == 1


def test_preferences_choose_at_once_a_digest_or_never_per_kind(
    funded, leader, fund_manager, fund_manager2
):
    services.preferences_set(user=fund_manager, preferences={K.SUBMITTED: Delivery.NEVER})
    services.preferences_set(user=fund_manager2, preferences={K.SUBMITTED: Delivery.DAILY})
    services.preferences_set(user=leader, preferences={K.SUBMITTED: Delivery.NEVER})
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    grant_services.grant_transition(grant=grant, user=fund_manager, action="return", comment="x")
    rows = {(n.user.username, n.kind): n.delivery for n in Notification.objects.all()}
    assert rows == {
        ("fm", K.SUBMITTED): Delivery.NEVER,
        ("fm2", K.SUBMITTED): Delivery.DAILY,
        ("ttl", K.RETURNED): Delivery.IMMEDIATELY,  # a kind left at its default
    }
    delivery.run_pending()
    assert [m.to for m in mail.outbox] == [["ttl@example.org"]]
    # "Never" still shows in the header: only the e-mail is not sent.
    assert Notification.objects.filter(user=fund_manager, read_at=None).count() == 1


def test_a_user_without_an_e_mail_address_is_told_in_the_header_only(funded, leader, fund_manager):
    fund_manager.email = ""
    fund_manager.save()
    make_grant(leader, GrantStatus.SUBMITTED)
    assert Notification.objects.get().delivery == Delivery.NEVER
    assert delivery.run_pending().sent == 0 and mail.outbox == []


def test_the_daily_digest_groups_a_days_events_per_user(
    funded, leader, fund_manager, fund_manager2
):
    for user in (fund_manager, leader):
        services.preferences_set(user=user, preferences={k: Delivery.DAILY for k in K.values})
    with at(date(2026, 3, 2)):
        first = make_grant(leader, GrantStatus.SUBMITTED, title="First")
        second = make_grant(leader, GrantStatus.SUBMITTED, title="Second")
        grant_services.grant_transition(
            grant=first, user=fund_manager, action="return", comment="x"
        )
    with at(date(2026, 3, 3), hour=1):
        third = make_grant(leader, GrantStatus.SUBMITTED, title="Third")  # the next day
    delivery.run_pending()  # fm2 chose nothing: at once, one e-mail each
    assert len(mail.outbox) == 3
    mail.outbox.clear()

    assert delivery.run_digests(as_of=date(2026, 3, 3)).sent == 3
    by_user = {m.to[0]: m for m in mail.outbox}
    assert sorted(by_user) == ["fm@example.org", "ttl@example.org"]
    manager = by_user["fm@example.org"]
    assert manager.subject == "Your SEETF digest: 2 notifications"
    assert "2026-03-02" in manager.body and first.title in manager.body
    assert second.title in manager.body and third.title not in manager.body
    assert f"{SITE}/grants/{first.pk}/" in manager.body
    assert by_user["ttl@example.org"].subject == "Your SEETF digest: 1 notification"
    # Again the same day: nothing; the next day, the third proposal only.
    mail.outbox.clear()
    assert delivery.run_digests(as_of=date(2026, 3, 3)).sent == 0
    assert delivery.run_digests(as_of=date(2026, 3, 4)).sent == 1
    (message,) = mail.outbox
    assert third.title in message.body and "2026-03-03" in message.body


def test_a_digest_that_fails_is_sent_whole_by_the_next_run(settings, funded, leader, fund_manager):
    services.preferences_set(user=fund_manager, preferences={K.SUBMITTED: Delivery.DAILY})
    with at(date(2026, 3, 2)):
        make_grant(leader, GrantStatus.SUBMITTED)
        make_grant(leader, GrantStatus.SUBMITTED)
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.SMTPErrorBackend"
    with pytest.raises(NotificationDeliveryError):
        delivery.run_digests(as_of=date(2026, 3, 3))
    assert set(Notification.objects.values_list("emailed_at", "attempts")) == {(None, 1)}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert delivery.run_digests(as_of=date(2026, 3, 4)).sent == 2
    (message,) = mail.outbox
    assert message.subject == "Your SEETF digest: 2 notifications"


def test_run_jobs_sends_the_digests_and_fails_loudly_while_the_mail_server_is_down(
    settings, funded, leader, fund_manager, capsys
):
    """The embedded default has no beat: ``manage.py run_jobs`` is how the digests go."""
    from django.core.management import CommandError, call_command

    services.preferences_set(user=fund_manager, preferences={K.SUBMITTED: Delivery.DAILY})
    with at(date(2026, 3, 2)):
        make_grant(leader, GrantStatus.SUBMITTED)
        make_grant(leader, GrantStatus.SUBMITTED)
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.SMTPErrorBackend"
    with pytest.raises(CommandError, match="Some e-mails failed"):
        call_command("run_jobs", date="2026-03-03")
    assert "Daily digests:" in capsys.readouterr().err
    assert not Notification.objects.filter(emailed_at__isnull=False).exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("run_jobs", date="2026-03-03")
    out = capsys.readouterr().out
    assert "Daily digests as of 2026-03-03: 2 notifications sent." in out
    assert [m.subject for m in mail.outbox] == ["Your SEETF digest: 2 notifications"]
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_the_actor_is_not_told_of_their_own_action(funded, fm_leader, fund_manager):
    make_grant(fm_leader, GrantStatus.SUBMITTED)
    assert told() == [("fm", K.SUBMITTED)]
