"""The funding-balance check: alerts raised when a condition starts to hold, resolved when
it clears, one alert (and one e-mail) per crossing however often the check runs, and the
check queued after every money movement only once the transaction has committed."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from grants import services as grant_services
from grants import tasks as grant_tasks
from grants.alerts import run_fund_check
from grants.models import GrantStatus
from partners.models import AlertKind, FundAlert
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant

from .conftest import on_day

LOW = AlertKind.LOW_BALANCE
PIPELINE = AlertKind.PIPELINE_EXCEEDS_BALANCE
START = date(2026, 3, 2)


def alerts(kind=None):
    rows = FundAlert.objects.order_by("pk")
    return list(rows.filter(kind=kind) if kind else rows)


def approve(leader, manager, usd):
    return make_grant(leader, GrantStatus.APPROVED, manager=manager, requested_usd=Decimal(usd))


def receive(usd):
    make_receipt(make_contribution(pledged_amount=usd), usd)


@pytest.mark.django_db
class TestLowBalance:
    def test_one_alert_per_crossing_resolved_when_lifted_and_raised_again(self, leader, managers):
        manager = managers[0]
        fund_with("600000.00")
        with on_day(START):
            check = run_fund_check()
        assert (check.raised, check.resolved, check.notified) == ([], [], 0)

        approve(leader, manager, "200000.00")  # 400,000 available: above
        with on_day(START + timedelta(days=1)):
            assert run_fund_check().raised == []
        approve(leader, manager, "200000.00")  # 200,000 available: below
        with on_day(START + timedelta(days=2)) as crossed_at:
            check = run_fund_check()
        assert (check.raised, check.notified) == ([LOW], 1)
        (alert,) = alerts()
        assert (alert.kind, alert.raised_at, alert.resolved_at) == (LOW, crossed_at, None)
        assert alert.available_usd == Decimal("200000.00")
        assert alert.threshold_usd == Decimal("250000.00")
        assert alert.pipeline_usd == Decimal("0.00")
        assert alert.notified_at == crossed_at
        assert len(mail.outbox) == 1
        assert sorted(mail.outbox[0].to) == sorted(m.email for m in managers)

        # Still below, checked again and again (daily, after other movements): nothing new.
        for offset in range(3, 10):
            with on_day(START + timedelta(days=offset)):
                check = run_fund_check()
            assert (check.raised, check.resolved, check.notified) == ([], [], 0)
        approve(leader, manager, "50000.00")  # deeper below: the same crossing
        with on_day(START + timedelta(days=10)):
            run_fund_check()
        assert [a.pk for a in alerts()] == [alert.pk]
        assert FundAlert.objects.get().resolved_at is None
        assert len(mail.outbox) == 1

        receive("200000.00")  # 350,000 available: lifted above
        with on_day(START + timedelta(days=11)) as lifted_at:
            check = run_fund_check()
            run_fund_check()
        assert (check.raised, check.resolved) == ([], [LOW])
        alert.refresh_from_db()
        assert alert.resolved_at == lifted_at
        assert len(mail.outbox) == 1  # resolving e-mails no one

        approve(leader, manager, "150000.00")  # 200,000 available: the next crossing
        with on_day(START + timedelta(days=12)) as again_at:
            check = run_fund_check()
            run_fund_check()
        assert check.raised == [LOW]
        first, second = alerts()
        assert first.pk == alert.pk and first.resolved_at == lifted_at
        assert (second.raised_at, second.resolved_at) == (again_at, None)
        assert second.available_usd == Decimal("200000.00")
        assert len(mail.outbox) == 2

    def test_exactly_the_threshold_is_not_below_it(self, managers):
        fund_with("250000.00")
        assert run_fund_check().raised == []
        assert alerts() == []

    def test_an_empty_fund_is_below_the_threshold(self, managers):
        assert run_fund_check().raised == [LOW]
        assert alerts()[0].available_usd == Decimal("0.00")

    def test_the_threshold_comes_from_the_settings(self, managers, settings):
        settings.FUNDING_ALERT_THRESHOLD_USD = Decimal("1000000.00")
        fund_with("600000.00")
        assert run_fund_check().raised == [LOW]
        assert alerts()[0].threshold_usd == Decimal("1000000.00")
        settings.FUNDING_ALERT_THRESHOLD_USD = Decimal("500000.00")
        assert run_fund_check().resolved == [LOW]

    def test_a_cancellation_releasing_money_resolves_it(self, leader, managers):
        fund_with("400000.00")
        grant = approve(leader, managers[0], "200000.00")
        assert run_fund_check().raised == [LOW]
        grant_services.grant_transition(grant=grant, user=managers[0], action="cancel")
        assert run_fund_check().resolved == [LOW]


@pytest.mark.django_db
class TestPipelineExceedsBalance:
    def test_raised_by_submissions_resolved_by_a_decision_raised_again(self, leader, managers):
        manager = managers[0]
        fund_with("600000.00")
        make_grant(leader, GrantStatus.SUBMITTED, requested_usd=Decimal("300000.00"))
        assert run_fund_check().raised == []  # 300,000 asked of 600,000
        big = make_grant(leader, GrantStatus.SUBMITTED, requested_usd=Decimal("400000.00"))
        check = run_fund_check()
        assert (check.raised, check.notified) == ([PIPELINE], 1)
        (alert,) = alerts()
        assert (alert.pipeline_usd, alert.available_usd) == (
            Decimal("700000.00"),
            Decimal("600000.00"),
        )
        message = mail.outbox[0]
        assert message.subject == (
            "Fund alert: the pipeline (700000.00 USD) exceeds available money (600000.00 USD)"
        )
        assert "700000.00" in message.body and "700000.00" in message.alternatives[0][0]
        make_grant(
            leader, GrantStatus.UNDER_REVIEW, manager=manager, requested_usd=Decimal("10000.00")
        )
        assert run_fund_check().raised == []
        assert len(alerts()) == 1 and len(mail.outbox) == 1

        grant_services.grant_transition(grant=big, user=manager, action="reject")
        assert run_fund_check().resolved == [PIPELINE]  # 310,000 asked of 600,000
        alert.refresh_from_db()
        assert alert.resolved_at is not None

        make_grant(leader, GrantStatus.SUBMITTED, requested_usd=Decimal("400000.00"))
        assert run_fund_check().raised == [PIPELINE]  # 710,000 asked
        assert [a.resolved_at is None for a in alerts()] == [False, True]
        assert len(mail.outbox) == 2

    def test_an_approval_can_raise_both_at_once(self, leader, managers):
        fund_with("500000.00")
        make_grant(leader, GrantStatus.SUBMITTED, requested_usd=Decimal("200000.00"))
        assert run_fund_check().raised == []
        approve(leader, managers[0], "300000.00")  # 200,000 left, 200,000 asked: equal
        assert run_fund_check().raised == [LOW]
        make_grant(leader, GrantStatus.SUBMITTED, requested_usd=Decimal("1.00"))
        assert run_fund_check().raised == [PIPELINE]
        assert {a.kind for a in alerts()} == {LOW, PIPELINE}
        assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_the_alert_e_mail_has_text_and_html_with_the_amounts(managers, settings):
    fund_with("123456.78")
    run_fund_check()
    (message,) = mail.outbox
    assert message.subject == "Fund alert: available money is down to 123456.78 USD"
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    for body in (message.body, html):
        assert "123456.78" in body and "250000.00" in body
        assert "https://seetf.example.org/" in body
    assert message.from_email == settings.DEFAULT_FROM_EMAIL


@pytest.mark.django_db
def test_without_fund_managers_an_alert_is_raised_and_marked_notified(leader):
    check = run_fund_check()
    assert (check.raised, check.notified) == ([LOW], 1)
    assert mail.outbox == []
    assert alerts()[0].notified_at is not None


@pytest.mark.django_db
def test_inactive_managers_and_managers_without_an_address_are_not_e_mailed(managers, make_user):
    from partners.roles import Role

    gone = make_user("fm-gone", Role.FUND_MANAGER)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    silent = make_user("fm-silent", Role.FUND_MANAGER)
    silent.email = ""
    silent.save(update_fields=["email"])
    run_fund_check()
    (message,) = mail.outbox
    assert sorted(message.to) == sorted(m.email for m in managers)


# --- The check after money moves: after commit, never inside --------------------------------


def _record_enqueues(monkeypatch):
    """Record each time the check is queued, and whether a transaction was still open."""
    calls = []
    real_delay = grant_tasks.check_fund_balance.delay

    def delay(*args, **kwargs):
        calls.append(connection.in_atomic_block)
        return real_delay(*args, **kwargs)

    monkeypatch.setattr(grant_tasks.check_fund_balance, "delay", delay)
    return calls


@pytest.mark.django_db
def test_a_receipt_queues_the_check_to_run_only_after_commit(
    managers, monkeypatch, django_capture_on_commit_callbacks
):
    calls = _record_enqueues(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        fund_with("100000.00")
        assert calls == []  # not while the transaction is open
        assert alerts() == []
    assert len(callbacks) == 1
    assert calls == [True]  # the test's own outer transaction; see the transaction=True test
    (alert,) = alerts()
    assert alert.kind == LOW and alert.available_usd == Decimal("100000.00")
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_an_approval_queues_one_check_however_many_movements_it_makes(
    leader, managers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            fund_with("500000.00")
            receive("10000.00")
            approve(leader, managers[0], "300000.00")
    # Beside the e-mails of the notifications the submission and approval made
    # (collaboration), queued once too.
    assert [c.__name__ for c in callbacks] == ["_enqueue_fund_check", "_enqueue_emails"]


@pytest.mark.django_db(transaction=True)
def test_money_moving_checks_the_fund_after_each_commit(leader, managers, monkeypatch):
    """Real commits (no test transaction around them): each movement queues the check
    once its own transaction has committed, and the (eager) check raises and resolves."""
    calls = _record_enqueues(monkeypatch)

    def alert_mails():  # not the notifications of the approval (collaboration)
        return [m for m in mail.outbox if m.subject.startswith("Fund alert")]

    fund_with("400000.00")  # a pledge and its receipt
    assert calls == [False]
    assert alerts() == []
    grant = approve(leader, managers[0], "200000.00")
    assert calls == [False, False, False]  # the submission (the pipeline), the approval
    (alert,) = alerts()
    assert alert.kind == LOW and alert.resolved_at is None
    assert len(alert_mails()) == 1
    receive("100000.00")
    assert alerts(LOW)[0].resolved_at is not None
    grant_services.grant_transition(grant=grant, user=managers[0], action="cancel")
    assert calls == [False] * 5
    assert len(alerts()) == 1 and len(alert_mails()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_movement_queues_nothing(
    leader, managers, monkeypatch, django_capture_on_commit_callbacks
):
    fund_with("1000000.00")
    grant = make_grant(leader, GrantStatus.SUBMITTED, requested_usd=Decimal("900000.00"))
    calls = _record_enqueues(monkeypatch)

    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Abort), transaction.atomic():
            grant_services.grant_transition(
                grant=grant, user=managers[0], action="approve", approved_usd=Decimal("900000.00")
            )
            receive("5.00")
            raise Abort
    assert callbacks == [] and calls == []
    assert alerts() == []

    # A savepoint rolled back inside a transaction that commits: the outer movement's
    # check still runs, once, at the commit.
    with transaction.atomic():
        receive("1.00")
        with pytest.raises(Abort), transaction.atomic():
            receive("2.00")
            raise Abort
        assert calls == []
    assert calls == [False]

    # The check queued first inside a savepoint that rolls back is dropped with it; a
    # later movement in the same transaction queues its own.
    calls.clear()
    with transaction.atomic():
        with pytest.raises(Abort), transaction.atomic():
            receive("3.00")
            raise Abort
        receive("4.00")
    assert calls == [False]


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_does_not_fail_the_movement(leader, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionRefusedError(111, "broker down")

    monkeypatch.setattr(grant_tasks.check_fund_balance, "delay", down)
    fund_with("100000.00")
    assert "funding-balance check could not be queued" in caplog.text
    from partners.models import Fund

    assert Fund.objects.get().received_usd == Decimal("100000.00")
    assert alerts() == []


@pytest.mark.django_db
def test_raised_and_resolved_times_are_the_check_time(managers):
    fund_with("100000.00")
    moment = timezone.make_aware(datetime(2026, 5, 1, 6, 15))
    run_fund_check(now=moment)
    assert alerts()[0].raised_at == moment


@pytest.mark.django_db
def test_the_database_allows_one_open_alert_of_each_kind():
    from django.db import IntegrityError

    def raise_alert(kind, resolved_at=None):
        return FundAlert.objects.create(
            kind=kind,
            raised_at=timezone.now(),
            resolved_at=resolved_at,
            available_usd=Decimal("1.00"),
            threshold_usd=Decimal("250000.00"),
            pipeline_usd=Decimal("0.00"),
        )

    raise_alert(LOW)
    raise_alert(PIPELINE)
    raise_alert(LOW, resolved_at=timezone.now())
    raise_alert(LOW, resolved_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        raise_alert(LOW)
    assert FundAlert.objects.filter(resolved_at=None).count() == 2


# --- The check after the pipeline moves ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_submission_past_the_available_money_raises_the_alert_at_once(
    leader, managers, monkeypatch
):
    """Submitting (and resubmitting) queues the check after commit: the pipeline alert is
    raised by the submission that crosses, not by the next daily run; a return (out of
    the pipeline) queues it again and resolves it; a draft saved queues nothing."""
    fund_with("500000.00")
    calls = _record_enqueues(monkeypatch)
    grant = make_grant(leader, GrantStatus.DRAFT, requested_usd=Decimal("600000.00"))
    assert calls == []
    grant = grant_services.grant_transition(grant=grant, user=leader, action="submit")
    assert calls == [False]
    (alert,) = alerts(PIPELINE)
    assert alert.resolved_at is None and alert.pipeline_usd == Decimal("600000.00")
    grant_services.grant_transition(
        grant=grant, user=managers[0], action="start-review"
    )  # within the pipeline: no check
    assert calls == [False]
    grant = grant_services.grant_transition(
        grant=grant, user=managers[0], action="return", comment="Smaller, please."
    )
    assert calls == [False, False]
    assert alerts(PIPELINE)[0].resolved_at is not None
