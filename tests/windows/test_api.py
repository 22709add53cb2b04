"""Funding windows through the API (API.md, Funding windows): the windows and their
money, grants that must fit their window, and delegated approval."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from grants.models import Grant, GrantHistory, GrantStatus
from grants.selectors import fund_ledger_from_records, windows_ledger_from_records
from partners.models import Country, Fund, Window, WindowMovement
from tests.grants.factories import make_grant
from tests.windows.factories import make_window

D = Decimal
S = GrantStatus
pytestmark = pytest.mark.django_db


def fund(client):
    return client.get("/api/v1/fund/").json()


def ledger_is_exact():
    """The fund's row and every window's row agree with the records, and nothing is
    below zero."""
    row = Fund.objects.get()
    assert fund_ledger_from_records() == {
        "received_usd": row.received_usd,
        "committed_usd": row.committed_usd,
        "disbursed_usd": row.disbursed_usd,
        "allocated_usd": row.allocated_usd,
    }
    assert row.available_usd == row.received_usd - row.committed_usd - row.allocated_usd >= 0
    for window_id, figures in windows_ledger_from_records().items():
        w = Window.objects.get(pk=window_id)
        assert figures == {
            "allocated_usd": w.allocated_usd,
            "committed_usd": w.committed_usd,
            "disbursed_usd": w.disbursed_usd,
            "available_usd": w.available_usd,
        }
        assert w.available_usd >= 0


# --- The windows ------------------------------------------------------------------------


def test_a_fund_manager_creates_a_window_and_everyone_signed_in_reads_it(
    client_for, fund_manager, window_manager, funded
):
    body = {
        "code": "AFR-SG",
        "name": "Small grants for Africa",
        "kind": "small_grants",
        "region": "AFR",
        "sectors": ["16010"],
        "max_grant_usd": "50000.00",
        "opens_on": "2026-01-01",
        "closes_on": "2026-12-31",
        "approvers": [{"user": "wm", "limit_usd": "25000.00"}],
    }
    response = client_for(fund_manager).post("/api/v1/windows/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created == {
        **body,
        "id": created["id"],
        "status": "open",
        "allocated_usd": "0.00",
        "committed_usd": "0.00",
        "disbursed_usd": "0.00",
        "available_usd": "0.00",
    }
    assert AuditEntry.objects.filter(action="window.create").count() == 1
    assert AuditEntry.objects.filter(action="window.approvers").count() == 1
    for who in ("leader", "donor", window_manager, "fund_manager"):
        listed = client_for(who).get("/api/v1/windows/")
        assert listed.status_code == 200
        assert listed.json()["results"] == [created]
    assert client_for("anonymous").get("/api/v1/windows/").status_code == 401
    assert client_for("no_role").get("/api/v1/windows/").status_code == 403


@pytest.mark.parametrize("who", ["leader", "donor", "window_manager"])
def test_only_fund_managers_write_windows(who, client_for, window, window_manager):
    client = client_for(window_manager if who == "window_manager" else who)
    before = Window.objects.values().get(pk=window.pk)
    assert client.post("/api/v1/windows/", {"code": "X1"}, format="json").status_code == 403
    assert (
        client.patch(f"/api/v1/windows/{window.pk}/", {"name": "x"}, format="json").status_code
        == 403
    )
    for move in ("allocate", "release", "close"):
        response = client.post(
            f"/api/v1/windows/{window.pk}/{move}/", {"amount_usd": "1.00"}, format="json"
        )
        assert response.status_code == 403, move
        assert response.json()["code"] == "permission_denied"
    assert Window.objects.values().get(pk=window.pk) == before


def test_a_window_edit_names_approvers_and_limits(client_for, window, window_manager2):
    response = client_for("fund_manager").patch(
        f"/api/v1/windows/{window.pk}/",
        {"name": "Latin America", "approvers": [{"user": "wm2", "limit_usd": "90000.00"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Latin America"
    assert response.json()["approvers"] == [{"user": "wm2", "limit_usd": "90000.00"}]
    entry = AuditEntry.objects.filter(action="window.approvers").latest("id")
    assert entry.changes["approvers"][1] == {str(window_manager2.pk): "90000.00"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"approvers": [{"user": "ttl", "limit_usd": "1.00"}]}, "approvers"),  # not a wm
        ({"approvers": [{"user": "nobody-at-all", "limit_usd": "1.00"}]}, "approvers"),
        ({"approvers": [{"user": "wm", "limit_usd": "0.00"}]}, "approvers"),
        ({"closes_on": "2001-01-01"}, "closes_on"),
        ({"max_grant_usd": "-1"}, "max_grant_usd"),
        ({"kind": "global"}, "kind"),
        ({"region": "XXX"}, "region"),
        ({"sectors": ["99999"]}, "sectors"),
    ],
)
def test_bad_window_input_is_a_400_on_its_field(body, field, client_for, window, leader):
    before = Window.objects.values().get(pk=window.pk)
    response = client_for("fund_manager").patch(
        f"/api/v1/windows/{window.pk}/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert Window.objects.values().get(pk=window.pk) == before


def test_a_duplicate_code_is_a_400(client_for, window):
    response = client_for("fund_manager").post(
        "/api/v1/windows/",
        {
            "code": "LCR-W",
            "name": "Again",
            "kind": "thematic",
            "max_grant_usd": "1000.00",
            "opens_on": "2026-01-01",
            "closes_on": "2026-12-31",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "code" in response.json()


# --- The windows' money ------------------------------------------------------------------


def test_allocate_release_close_move_money_between_fund_and_window(client_for, window):
    manager = client_for("fund_manager")
    assert fund(manager)["allocated_usd"] == "300000.00"
    assert fund(manager)["available_usd"] == "700000.00"

    response = manager.post(
        f"/api/v1/windows/{window.pk}/allocate/",
        {"amount_usd": "100000.00", "reason": "Second tranche"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["allocated_usd"] == "400000.00"
    assert fund(manager)["available_usd"] == "600000.00"

    response = manager.post(
        f"/api/v1/windows/{window.pk}/allocate/", {"amount_usd": "600000.01"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_funds"

    response = manager.post(
        f"/api/v1/windows/{window.pk}/release/", {"amount_usd": "400000.01"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "over_release"

    response = manager.post(
        f"/api/v1/windows/{window.pk}/release/", {"amount_usd": "50000.00"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["available_usd"] == "350000.00"

    response = manager.post(f"/api/v1/windows/{window.pk}/close/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    assert response.json()["available_usd"] == "0.00"
    assert fund(manager)["allocated_usd"] == "0.00"
    assert fund(manager)["available_usd"] == "1000000.00"
    assert manager.post(f"/api/v1/windows/{window.pk}/close/").json()["code"] == (
        "invalid_transition"
    )
    assert (
        manager.post(
            f"/api/v1/windows/{window.pk}/allocate/", {"amount_usd": "1.00"}, format="json"
        ).json()["code"]
        == "invalid_transition"
    )

    kinds = list(
        WindowMovement.objects.filter(window=window).values_list("kind", "amount_usd", "reason")
    )
    assert kinds == [
        ("allocation", D("300000.00"), ""),
        ("allocation", D("100000.00"), "Second tranche"),
        ("release", D("50000.00"), ""),
        ("close", D("350000.00"), ""),
    ]
    assert AuditEntry.objects.filter(action__startswith="window.").count() >= 5
    ledger_is_exact()


def test_money_posts_honour_idempotency_keys(client_for, window):
    manager = client_for("fund_manager")
    headers = {"Idempotency-Key": "allocate-once"}
    first = manager.post(
        f"/api/v1/windows/{window.pk}/allocate/",
        {"amount_usd": "1000.00"},
        format="json",
        headers=headers,
    )
    again = manager.post(
        f"/api/v1/windows/{window.pk}/allocate/",
        {"amount_usd": "1000.00"},
        format="json",
        headers=headers,
    )
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert WindowMovement.objects.filter(window=window, kind="allocation").count() == 2
    other = manager.post(
        f"/api/v1/windows/{window.pk}/release/",
        {"amount_usd": "5.00"},
        format="json",
        headers=headers,
    )
    assert other.status_code == 409 and other.json()["code"] == "duplicate"


# --- Grants in windows -----------------------------------------------------------------


def test_approving_in_a_window_commits_its_money_and_releases_go_back(
    client_for, window, leader, fund_manager
):
    grant = make_grant(leader, S.SUBMITTED, window=window, requested_usd=D("120000.00"))
    manager = client_for(fund_manager)
    response = manager.post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "120000.00"}, format="json"
    )
    assert response.status_code == 200, response.content
    window.refresh_from_db()
    assert (window.allocated_usd, window.committed_usd, window.available_usd) == (
        D("300000.00"),
        D("120000.00"),
        D("180000.00"),
    )
    summary = fund(manager)
    assert (summary["committed_usd"], summary["allocated_usd"], summary["available_usd"]) == (
        "120000.00",
        "180000.00",
        "700000.00",
    )
    manager.post(
        f"/api/v1/grants/{grant.pk}/disbursements/",
        {"amount_usd": "20000.00", "disbursed_on": "2026-02-01"},
        format="json",
    )
    window.refresh_from_db()
    assert window.disbursed_usd == D("20000.00")
    ledger_is_exact()
    assert (
        manager.post(
            f"/api/v1/grants/{grant.pk}/cancel/", {"comment": "Stopped."}, format="json"
        ).status_code
        == 200
    )
    window.refresh_from_db()
    # The 100,000 not disbursed went back to the window, still open.
    assert (window.committed_usd, window.available_usd) == (D("20000.00"), D("280000.00"))
    assert fund(manager)["allocated_usd"] == "280000.00"
    ledger_is_exact()


def test_a_release_after_the_window_closed_goes_back_to_the_fund(
    client_for, window, leader, fund_manager
):
    grant = make_grant(leader, S.APPROVED, manager=fund_manager, window=window)
    manager = client_for(fund_manager)
    manager.post(f"/api/v1/windows/{window.pk}/close/", {"reason": "Call over"}, format="json")
    assert fund(manager)["available_usd"] == "900000.00"
    manager.post(f"/api/v1/grants/{grant.pk}/cancel/", {"comment": "Stopped."}, format="json")
    window.refresh_from_db()
    assert (window.allocated_usd, window.committed_usd) == (D("0.00"), D("0.00"))
    assert fund(manager)["available_usd"] == "1000000.00"
    movement = WindowMovement.objects.filter(window=window).latest("id")
    assert (movement.kind, movement.amount_usd) == ("grant_return", D("100000.00"))
    ledger_is_exact()


def test_approving_beyond_the_windows_money_is_409(client_for, window, leader, make_user):
    grants = [
        make_grant(
            make_user(f"l{i}", "task_team_leader"),
            S.SUBMITTED,
            window=window,
            requested_usd=D("200000.00"),
        )
        for i in range(2)
    ]
    manager = client_for("fund_manager")
    ok = manager.post(
        f"/api/v1/grants/{grants[0].pk}/approve/", {"approved_usd": "200000.00"}, format="json"
    )
    assert ok.status_code == 200
    refused = manager.post(
        f"/api/v1/grants/{grants[1].pk}/approve/", {"approved_usd": "100000.01"}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_funds"
    assert "LCR-W" in refused.json()["detail"]
    assert Grant.objects.get(pk=grants[1].pk).status == S.SUBMITTED
    # The fund has 700,000 available, but that is not the window's to commit.
    assert fund(manager)["available_usd"] == "700000.00"
    ledger_is_exact()


# --- Eligibility ----------------------------------------------------------------------------


def _proposal(**overrides):
    body = {
        "title": "Pensions",
        "sector": "16010",
        "region": "LCR",
        "recipient_countries": ["HND"],
        "provider_countries": ["MEX"],
        "requested_usd": "100000.00",
        "planned_start": "2026-01-10",
        "planned_end": "2026-06-30",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("window_fields", "proposal", "rule"),
    [
        ({"region": "AFR"}, {}, "region AFR"),
        ({"region": "LCR"}, {"recipient_countries": ["HND", "KEN"]}, "not: KEN"),
        ({"sectors": ["11110"]}, {}, "sectors 11110"),
        ({"max_grant_usd": D("50000.00")}, {}, "at most 50,000.00"),
        ({"closes_on": date(2021, 1, 1), "opens_on": date(2020, 1, 1)}, {}, "closed on"),
    ],
)
def test_a_proposal_that_does_not_fit_its_window_is_a_400_on_window(
    window_fields, proposal, rule, client_for, fund_manager, funded
):
    w = make_window(fund_manager, **window_fields)
    response = client_for("leader").post(
        "/api/v1/grants/", _proposal(window=w.pk, **proposal), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["window"]
    assert rule in response.json()["window"][0]
    assert not Grant.objects.exists()


def test_a_window_not_yet_open_takes_drafts_but_not_submissions(
    client_for, fund_manager, funded, leader
):
    today = timezone.localdate()
    w = make_window(
        fund_manager, opens_on=today + timedelta(days=10), closes_on=today + timedelta(days=40)
    )
    created = client_for("leader").post("/api/v1/grants/", _proposal(window=w.pk), format="json")
    assert created.status_code == 201, created.content
    grant_id = created.json()["id"]
    assert created.json()["window"] == w.pk
    detail = client_for("leader").get(f"/api/v1/grants/{grant_id}/").json()
    submit = next(a for a in detail["allowed_actions"] if a["action"] == "submit")
    assert submit["allowed"] is False and submit["code"] == "window_ineligible"
    response = client_for("leader").post(f"/api/v1/grants/{grant_id}/submit/")
    assert response.status_code == 400
    assert "opens on" in response.json()["window"][0]
    assert Grant.objects.get(pk=grant_id).status == S.DRAFT
    assert submit["reason"] == response.json()["window"][0]


def test_approval_checks_the_window_again(client_for, window, leader, fund_manager):
    grant = make_grant(leader, S.SUBMITTED, window=window)
    # The window's rules changed after the submission: Honduras is no longer in it.
    client_for(fund_manager).patch(
        f"/api/v1/windows/{window.pk}/", {"region": "AFR"}, format="json"
    )
    before = Fund.objects.values().get()
    response = client_for(fund_manager).post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "100000.00"}, format="json"
    )
    assert response.status_code == 400
    assert "region AFR" in response.json()["window"][0]
    assert Fund.objects.values().get() == before
    # Returning it is still possible: the leader may move it to another window.
    assert (
        client_for(fund_manager)
        .post(f"/api/v1/grants/{grant.pk}/return/", {"comment": "Wrong window"}, format="json")
        .status_code
        == 200
    )
    response = client_for("leader").patch(
        f"/api/v1/grants/{grant.pk}/", {"window": None}, format="json"
    )
    assert response.status_code == 200 and response.json()["window"] is None


# --- Delegated approval -------------------------------------------------------------------


def test_a_window_manager_sees_only_non_draft_grants_of_their_windows(
    client_for, window, leader, fund_manager, window_manager
):
    other = make_window(fund_manager, code="OTHER", allocate="100000.00")
    mine = make_grant(leader, S.SUBMITTED, window=window)
    draft = make_grant(leader, S.DRAFT, window=window)
    elsewhere = make_grant(leader, S.SUBMITTED, window=other)
    no_window = make_grant(leader, S.SUBMITTED)
    client = client_for(window_manager)
    listed = {g["id"] for g in client.get("/api/v1/grants/").json()["results"]}
    assert listed == {mine.pk}
    for grant in (draft, elsewhere, no_window):
        assert client.get(f"/api/v1/grants/{grant.pk}/").status_code == 404
        assert client.post(f"/api/v1/grants/{grant.pk}/start-review/").status_code == 404


def test_a_window_manager_reviews_and_approves_up_to_their_limit(
    client_for, window, leader, window_manager
):
    grant = make_grant(leader, S.SUBMITTED, window=window, requested_usd=D("180000.00"))
    client = client_for(window_manager)
    actions = {
        a["action"]: a["allowed"]
        for a in client.get(f"/api/v1/grants/{grant.pk}/").json()["allowed_actions"]
    }
    assert actions == {
        "submit": False,
        "start-review": True,
        "approve": True,
        "return": True,
        "reject": True,
        "cancel": False,
        "complete": False,
        "accept-report": False,
        "return-report": False,
        "close": False,
    }
    assert client.post(f"/api/v1/grants/{grant.pk}/start-review/").status_code == 200
    response = client.post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "150000.01"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "over_delegated_limit"
    assert "150,000.00" in response.json()["detail"]
    assert Grant.objects.get(pk=grant.pk).status == S.UNDER_REVIEW
    response = client.post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "150000.00"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert GrantHistory.objects.filter(grant=grant, action="approve").get().actor == window_manager
    # Cancelling and closing stay the fund managers'.
    response = client.post(f"/api/v1/grants/{grant.pk}/cancel/", {"comment": "x"}, format="json")
    assert response.status_code == 403
    ledger_is_exact()


def test_fund_managers_approve_in_any_window_beyond_the_delegated_limits(
    client_for, window, leader, fund_manager
):
    grant = make_grant(leader, S.SUBMITTED, window=window, requested_usd=D("200000.00"))
    response = client_for(fund_manager).post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "200000.00"}, format="json"
    )
    assert response.status_code == 200


def test_nobody_approves_a_grant_they_lead(client_for, window, make_user, fund_manager):
    both = make_user("wm-ttl", "window_manager", "task_team_leader")
    window.refresh_from_db()
    client_for(fund_manager).patch(
        f"/api/v1/windows/{window.pk}/",
        {"approvers": [{"user": "wm-ttl", "limit_usd": "150000.00"}]},
        format="json",
    )
    grant = make_grant(both, S.SUBMITTED, window=window)
    response = client_for(both).post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "100000.00"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "self_approval"


def test_a_window_manager_named_nowhere_sees_no_grant(client_for, window, leader, make_user):
    make_grant(leader, S.SUBMITTED, window=window)
    lonely = make_user("wm-lonely", "window_manager")
    assert client_for(lonely).get("/api/v1/grants/").json()["count"] == 0


def test_the_grant_list_filters_by_window(client_for, window, leader):
    inside = make_grant(leader, S.SUBMITTED, window=window)
    make_grant(leader, S.SUBMITTED)
    ids = [
        g["id"]
        for g in client_for("fund_manager")
        .get(f"/api/v1/grants/?window={window.pk}")
        .json()["results"]
    ]
    assert ids == [inside.pk]


def test_create_seetf_user_gives_the_window_manager_role(db):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command(
        "create_seetf_user",
        "wmcmd",
        "--role",
        "window_manager",
        "--password",
        "Kongens Nytorv 1849",
    )
    user = get_user_model().objects.get(username="wmcmd")
    assert set(user.groups.values_list("name", flat=True)) == {"window_manager"}


def test_honduras_is_in_lcr():
    # The tests above rely on the reference data's regions.
    assert Country.objects.get(code="HND").region == "LCR"
    assert Country.objects.get(code="KEN").region == "AFR"
