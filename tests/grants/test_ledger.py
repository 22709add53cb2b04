"""``manage.py check_fund`` (grants.ledger): the ledger reconciled with the records.
Exit 0 when they agree; else each drift named (figure, expected, found), a
``ledger_drift`` alert raised (and e-mailed), exit 1; resolved once they agree again.
The tampering itself is raw SQL here (on PostgreSQL as the application's role:
tests/partners/test_tampering_postgres.py)."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection

from grants import services as grant_services
from grants.ledger import CHECKS, Drift, ledger_drifts, register_check
from grants.models import GrantStatus
from grants.tasks import check_ledger
from partners.models import AlertKind, FundAlert
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def ledger(leader, fund_manager):
    fund_with("500000.00")
    pledge = make_contribution(pledged_amount="100000.00")
    receipt = make_receipt(pledge, "40000.00")
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    grant_services.disbursement_record(
        grant=grant, user=fund_manager, amount_usd=D("30000.00"), disbursed_on=date(2026, 2, 1)
    )
    return {"pledge": pledge, "receipt": receipt, "grant": grant}


def check_fund():
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_fund", stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def tamper(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_true_ledger_exits_0(ledger):
    code, out, err = check_fund()
    assert (code, err) == (0, "")
    assert "The ledger equals the records." in out
    assert not FundAlert.objects.filter(kind=AlertKind.LEDGER_DRIFT).exists()


TAMPERING = [
    (
        "UPDATE partners_fund SET received_usd = received_usd + 1000000",
        "fund.received_usd: the records give 540000.00, the ledger has 1540000.00",
    ),
    (
        "UPDATE grants_grant SET approved_usd = approved_usd + 50000",
        "fund.committed_usd: the records give 150000.00, the ledger has 100000.00",
    ),
    ("UPDATE grants_grant SET approved_usd = approved_usd + 50000", ".approved_usd: the records"),
    (
        "UPDATE grants_grant SET disbursed_usd = 0",
        ".disbursed_usd: the records give 30000.00, the ledger has 0.00",
    ),
    ("UPDATE partners_fund SET disbursed_usd = 0", "fund.disbursed_usd: the records give 30000.00"),
    (
        "UPDATE partners_contribution SET received_usd = received_usd + 100, "
        "received_amount = received_amount + 100 WHERE pledged_usd = 100000",
        ".received_usd: the records give 40000.00, the ledger has 40100.00",
    ),
]


@pytest.mark.parametrize(("statement", "named"), TAMPERING)
def test_drift_exits_1_naming_it_and_raises_an_alert(ledger, fund_manager, statement, named):
    tamper(statement)
    code, out, err = check_fund()
    assert code == 1
    assert named in err, err
    alert = FundAlert.objects.get(kind=AlertKind.LEDGER_DRIFT, resolved_at=None)
    assert named in alert.detail
    assert len(mail.outbox) == 1 and fund_manager.email in mail.outbox[0].to
    assert "ledger differs" in mail.outbox[0].subject
    assert named in mail.outbox[0].body


def test_the_grant_is_named_when_its_approved_amount_was_raised(ledger):
    grant = ledger["grant"]
    tamper("UPDATE grants_grant SET approved_usd = 150000 WHERE id = %s", [grant.pk])
    names = [drift.figure for drift in ledger_drifts()]
    assert f"grant {grant.pk} ({grant.reference}).approved_usd" in names


def test_one_alert_while_the_drift_lasts_resolved_once_repaired(ledger):
    tamper("UPDATE partners_fund SET received_usd = received_usd + 1000")
    assert check_fund()[0] == 1
    tamper("UPDATE partners_fund SET received_usd = received_usd + 1000")
    assert check_fund()[0] == 1
    alert = FundAlert.objects.get(kind=AlertKind.LEDGER_DRIFT)
    assert "542000.00" in alert.detail  # the detail follows the drift
    tamper("UPDATE partners_fund SET received_usd = received_usd - 2000")
    code, out, _ = check_fund()
    assert code == 0 and "resolved" in out
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_the_balance_check_leaves_the_drift_alert_alone(ledger):
    from grants.alerts import run_fund_check

    tamper("UPDATE partners_fund SET received_usd = received_usd + 1000")
    check_fund()
    run_fund_check()
    assert FundAlert.objects.filter(kind=AlertKind.LEDGER_DRIFT, resolved_at=None).exists()


def test_a_new_figure_is_one_more_check(ledger):
    def always(_=None):
        return [Drift("window 1.allocated_usd", D("1.00"), D("2.00"))]

    register_check(always)
    try:
        assert "window 1.allocated_usd: the records give 1.00" in check_fund()[2]
    finally:
        CHECKS.remove(always)


def test_beat_runs_it_daily_through_the_same_service(ledger):
    schedule = settings.CELERY_BEAT_SCHEDULE["ledger-check"]
    assert schedule["task"] == "grants.tasks.check_ledger"
    assert check_ledger.apply().get() == {
        "drifts": [],
        "raised": False,
        "resolved": False,
        "notified": 0,
    }
    tamper("UPDATE partners_fund SET received_usd = received_usd + 5")
    result = check_ledger.apply().get()
    assert result["raised"] and result["drifts"] == [
        "fund.received_usd: the records give 540000.00, the ledger has 540005.00"
    ]


def test_the_alert_is_in_the_api_with_its_detail(ledger, client_for, fund_manager):
    tamper("UPDATE partners_fund SET received_usd = received_usd + 1000")
    check_fund()
    body = client_for(fund_manager).get("/api/v1/alerts/", {"kind": "ledger_drift"}).json()
    assert body["count"] == 1
    assert "fund.received_usd" in body["results"][0]["detail"]


def test_a_windows_figures_drifting_from_its_movements_are_named(ledger, fund_manager):
    from tests.windows.factories import make_window

    window = make_window(fund_manager, code="LCRW", allocate="50000.00")
    assert check_fund()[0] == 0
    # The fund's allocated money moves with it, so only the window's own figure drifts.
    tamper(
        "UPDATE partners_window SET allocated_usd = allocated_usd + 1 WHERE id = %s", [window.pk]
    )
    tamper("UPDATE partners_fund SET allocated_usd = allocated_usd + 1")
    code, _, err = check_fund()
    assert code == 1
    assert f"window {window.pk} (LCRW).allocated_usd: the records give 50000.00" in err
    assert "the ledger has 50001.00" in err
