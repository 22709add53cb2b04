"""The low-balance alert of each funding window, as for the fund: raised when an open
window's available money falls below WINDOW_ALERT_THRESHOLD_USD, one per crossing,
e-mailed once, resolved when money comes in or the window closes."""

from decimal import Decimal

import pytest
from django.core import mail

from grants.alerts import run_fund_check
from grants.models import GrantStatus
from partners import services
from partners.models import AlertKind, FundAlert
from tests.grants.factories import make_grant

D = Decimal
pytestmark = pytest.mark.django_db


def window_alerts(window):
    return list(FundAlert.objects.filter(window=window).order_by("pk"))


def test_a_windows_low_balance_is_raised_once_and_resolved(window, leader, fund_manager, settings):
    settings.WINDOW_ALERT_THRESHOLD_USD = D("50000.00")
    run_fund_check()
    assert window_alerts(window) == []  # 300,000 available

    for amount in ("200000.00", "60000.00"):
        make_grant(
            leader,
            GrantStatus.APPROVED,
            manager=fund_manager,
            window=window,
            requested_usd=D(amount),
        )
    # 40,000 left.
    run_fund_check()
    (alert,) = window_alerts(window)
    assert (alert.kind, alert.available_usd, alert.threshold_usd) == (
        AlertKind.LOW_BALANCE,
        D("40000.00"),
        D("50000.00"),
    )
    assert alert.resolved_at is None and alert.notified_at is not None
    assert any("LCR-W" in m.subject for m in mail.outbox)
    run_fund_check()
    assert len(window_alerts(window)) == 1  # one per crossing

    services.window_allocate(window=window, user=fund_manager, amount_usd=D("100000.00"))
    run_fund_check()
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_a_closed_window_raises_nothing_and_resolves_its_alert(window, fund_manager, settings):
    settings.WINDOW_ALERT_THRESHOLD_USD = D("500000.00")
    run_fund_check()
    (alert,) = window_alerts(window)
    services.window_close(window=window, user=fund_manager)
    run_fund_check()
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    run_fund_check()
    assert len(window_alerts(window)) == 1


def test_the_alerts_api_names_the_window(window, client_for, settings):
    settings.WINDOW_ALERT_THRESHOLD_USD = D("500000.00")
    run_fund_check()
    body = client_for("fund_manager").get("/api/v1/alerts/?open=true").json()["results"]
    assert {(a["kind"], a["window"]) for a in body} >= {("low_balance", window.pk)}
