"""The funding windows' web pages: the list and a window's page (balances, approvers and
limits, the allocate, release and close forms, each recording once), the window on the
proposal form and the grant page (the approve form shows the window's money), the fund
manager's and window manager's home, and the donor dashboard."""

from decimal import Decimal

import pytest

from grants.models import Grant, GrantStatus
from partners.models import Window, WindowApprover, WindowMovement
from seetf.common.idempotency import FORM_FIELD
from tests.grants.factories import make_grant
from tests.web.pages import form_data, page

D = Decimal
S = GrantStatus
pytestmark = pytest.mark.django_db


def test_everyone_signed_in_sees_the_windows_and_their_balances(web, window, leader, donor):
    for who in ("leader", "donor", "fund_manager"):
        root = page(web(who).get("/windows/"))
        rows = root.find_all(data_testid="window-row")
        assert len(rows) == 1 and "LCR-W" in rows[0].text
        assert root.testid("window-available").text == "300,000.00"
        detail = page(web(who).get(f"/windows/{window.pk}/"))
        assert detail.testid("window-allocated").text == "300,000.00"
        assert "wm" in detail.testid("window-approvers").text
    assert web().get("/windows/").status_code == 302  # to the login page
    # Only fund managers get the forms.
    assert (
        page(web("leader").get(f"/windows/{window.pk}/")).find(data_testid="allocate-form") is None
    )
    assert web("leader").get("/windows/new/").status_code == 403


def test_a_fund_manager_opens_and_edits_a_window(web, funded):
    client = web("fund_manager")
    root = page(client.get("/windows/new/"))
    data = form_data(
        root,
        "window-form",
        code="SAR-W",
        name="South Asia",
        kind="regional",
        region="SAR",
        max_grant_usd="80000",
        opens_on="2026-01-01",
        closes_on="2026-12-31",
    )
    response = client.post("/windows/new/", data)
    assert response.status_code == 302
    window = Window.objects.get(code="SAR-W")
    assert (window.region, window.max_grant_usd) == ("SAR", D("80000.00"))
    data = form_data(
        page(client.get(f"/windows/{window.pk}/edit/")), "window-form", closes_on="2025-01-01"
    )
    response = client.post(f"/windows/{window.pk}/edit/", data)
    assert response.status_code == 200  # shown again with the error
    assert "cannot close before it opens" in response.content.decode()


def test_money_forms_record_once(web, window):
    client = web("fund_manager")
    root = page(client.get(f"/windows/{window.pk}/"))
    action = root.testid("allocate-form").attrs["action"]
    data = form_data(root, "allocate-form", amount_usd="50000", reason="Top-up")
    assert data[FORM_FIELD]
    answers = [client.post(action, data) for _ in range(3)]
    assert [a.status_code for a in answers] == [302] * 3
    assert WindowMovement.objects.filter(window=window, kind="allocation").count() == 2
    window.refresh_from_db()
    assert window.allocated_usd == D("350000.00")

    root = page(client.get(f"/windows/{window.pk}/"))
    data = form_data(root, "release-form", amount_usd="999999")
    response = client.post(root.testid("release-form").attrs["action"], data)
    assert response.status_code == 200
    assert "350,000.00 USD available" in response.content.decode()

    root = page(client.get(f"/windows/{window.pk}/"))
    response = client.post(root.testid("close-form").attrs["action"], form_data(root, "close-form"))
    assert response.status_code == 302
    window.refresh_from_db()
    assert window.status == "closed" and window.available_usd == 0
    root = page(client.get(f"/windows/{window.pk}/"))
    assert root.find(data_testid="allocate-form") is None  # closed: no money forms


def test_a_fund_manager_names_an_approver_and_removes_one(web, window, window_manager2):
    client = web("fund_manager")
    root = page(client.get(f"/windows/{window.pk}/"))
    data = form_data(root, "approver-form", user="wm2", limit_usd="70000")
    response = client.post(root.testid("approver-form").attrs["action"], data)
    assert response.status_code == 302
    assert dict(
        WindowApprover.objects.filter(window=window).values_list("user__username", "limit_usd")
    ) == {"wm": D("150000.00"), "wm2": D("70000.00")}
    remove = page(client.get(f"/windows/{window.pk}/")).find_all("form", **{"class": "inline-form"})
    actions = [f.attrs["action"] for f in remove if "/approvers/" in f.attrs.get("action", "")]
    assert len(actions) == 2
    client.post(actions[0])
    assert WindowApprover.objects.filter(window=window).count() == 1


def test_the_approve_form_shows_the_windows_money(web, window, leader, window_manager):
    grant = make_grant(leader, S.SUBMITTED, window=window)
    for who in ("fund_manager", window_manager):
        root = page(web(who).get(f"/grants/{grant.pk}/"))
        text = root.testid("decisions").text
        assert "The window LCR-W has 300,000.00 USD available" in text
        assert root.testid("grant-window").text.startswith("LCR-W")
    root = page(web(window_manager).get(f"/grants/{grant.pk}/"))
    assert "up to 150,000.00 USD" in root.testid("delegated-limit").text
    data = form_data(root, "approve-form", approved_usd="100000")
    response = web(window_manager).post(root.testid("approve-form").attrs["action"], data)
    assert response.status_code == 302
    assert Grant.objects.get(pk=grant.pk).status == S.APPROVED


def test_the_proposal_form_names_a_window_and_its_rules_are_checked(web, window, leader):
    client = web("leader")
    root = page(client.get("/grants/new/"))
    data = form_data(
        root,
        "proposal-form",
        title="Teachers",
        sector="11110",
        region="AFR",
        recipient_countries=["KEN"],
        planned_start="2026-01-10",
        planned_end="2026-03-10",
        requested_usd="10000",
        window=str(window.pk),
    )
    response = client.post("/grants/new/", data)
    assert response.status_code == 200
    assert "finances grants in region LCR" in response.content.decode()
    assert not Grant.objects.exists()


def test_home_pages_show_the_windows(web, window, leader, window_manager):
    grant = make_grant(leader, S.SUBMITTED, window=window)
    root = page(web("fund_manager").get("/"))
    assert "LCR-W" in root.testid("manager-windows").text
    assert root.testid("fund-allocated").text == "300,000.00"
    root = page(web(window_manager).get("/"))
    assert "150,000.00" in root.testid("window-manager-home").text
    rows = root.find_all(data_testid="window-queue-row")
    assert len(rows) == 1 and grant.reference in rows[0].text


def test_the_donor_dashboard_shows_what_the_windows_hold_and_finance(
    web, window, leader, fund_manager, donor
):
    make_grant(leader, S.APPROVED, manager=fund_manager, window=window)
    root = page(web("donor").get("/dashboard/"))
    row = root.testid("dashboard-window-row").text
    assert "LCR-W" in row and "100,000.00" in row and "200,000.00" in row
    csv = web("donor").get("/dashboard/windows.csv").content.decode()
    assert "LCR-W" in csv and "TOTAL" in csv
