"""After the exchange, through the API (issue 19, points 1-3): follow-up needs written
with the completion report and decided by fund managers, follow-on and repeat grants
(no cycles, a parent completed or closed), the need financed when its follow-on is
approved and never twice, ex-post checks created at closing and filed from their due
date, and the sustained-results and follow-up reports."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditEntry
from grants import services as grant_services
from grants.models import Grant, GrantStatus
from results import services
from results.models import ExPostCheck, FollowUpNeed
from tests.grants.factories import REPORT, make_grant
from tests.results.factories import finished_grant

pytestmark = pytest.mark.django_db

NEEDS = [
    {
        "kind": "implementation_financing",
        "description": "Scale the pilot to 3 provinces.",
        "estimated_usd": "250000.00",
    },
    {"kind": "further_exchange", "description": "A second visit for the regulators."},
]


@pytest.fixture
def funded(db):
    from tests.factories import fund_with

    fund_with("50000000.00")


def report_with_needs(grant, leader, needs=NEEDS):
    services.completion_report_save(
        grant=grant,
        user=leader,
        **{**REPORT, "follow_up_needed": True, "follow_up_description": "Scale it up."},
        follow_up_needs=[
            {**need, "estimated_usd": Decimal(need["estimated_usd"])}
            if "estimated_usd" in need
            else need
            for need in needs
        ],
    )


@pytest.fixture
def completed(funded, leader, fund_manager):
    """A completed grant whose report (accepted) has two follow-up needs."""
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    report_with_needs(grant, leader)
    services.completion_report_submit(grant=grant, user=leader)
    services.completion_report_accept(grant=grant, user=fund_manager)
    grant.refresh_from_db()
    return grant


def need_of(grant, kind="implementation_financing"):
    return FollowUpNeed.objects.get(grant=grant, kind=kind)


# --- Needs written with the completion report -------------------------------------------


def test_the_leader_writes_needs_with_the_report_and_reads_them_back(
    funded, leader, fund_manager, client_for
):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    body = {**REPORT, "follow_up_needed": False, "follow_up_needs": NEEDS}
    response = client_for("leader").put(
        f"/api/v1/grants/{grant.pk}/completion-report/", body, format="json"
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["follow_up_needed"] is True  # any need is follow-up needed
    assert [(n["kind"], n["estimated_usd"], n["status"]) for n in data["follow_up_needs"]] == [
        ("implementation_financing", "250000.00", "open"),
        ("further_exchange", None, "open"),
    ]
    # Writing the list again replaces it.
    body["follow_up_needs"] = NEEDS[1:]
    client_for("leader").put(f"/api/v1/grants/{grant.pk}/completion-report/", body, format="json")
    assert list(FollowUpNeed.objects.values_list("kind", flat=True)) == ["further_exchange"]
    # A report with needs and no description may be submitted: the needs say it.
    submit = client_for("leader").post(f"/api/v1/grants/{grant.pk}/completion-report/submit/")
    assert submit.status_code == 200, submit.json()


@pytest.mark.parametrize(
    "need",
    [
        {"kind": "bribe", "description": "x"},
        {"kind": "investment", "description": ""},
        {"kind": "investment", "description": "x", "estimated_usd": "-1.00"},
        {"kind": "investment", "description": "x", "estimated_usd": "1.001"},
    ],
)
def test_a_bad_need_is_a_400_and_writes_nothing(funded, leader, fund_manager, client_for, need):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    body = {**REPORT, "follow_up_needs": [need]}
    response = client_for("leader").put(
        f"/api/v1/grants/{grant.pk}/completion-report/", body, format="json"
    )
    assert response.status_code == 400
    assert "follow_up_needs" in response.json()
    assert not FollowUpNeed.objects.exists()


# --- What became of a need ----------------------------------------------------------------


def test_a_fund_manager_records_a_need_financed_elsewhere_once(completed, client_for):
    need = need_of(completed)
    fm = client_for("fund_manager")
    url = f"/api/v1/follow-up-needs/{need.pk}/finance-elsewhere/"
    body = {
        "financed_elsewhere_by": "Inter-American Development Bank",
        "financed_elsewhere_usd": "1200000.00",
    }
    response = fm.post(url, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "financed"
    assert response.json()["financed_elsewhere_usd"] == "1200000.00"
    # A need financed twice: 409 invalid_transition, nothing changed.
    again = fm.post(url, {**body, "financed_elsewhere_usd": "5.00"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    dropped = fm.post(f"/api/v1/follow-up-needs/{need.pk}/drop/", {"reason": "x"}, format="json")
    assert dropped.status_code == 409
    need.refresh_from_db()
    assert need.financed_elsewhere_usd == Decimal("1200000.00")
    assert AuditEntry.objects.filter(action="follow_up_need.finance_elsewhere").count() == 1


def test_a_negative_amount_elsewhere_is_a_400(completed, client_for):
    need = need_of(completed)
    response = client_for("fund_manager").post(
        f"/api/v1/follow-up-needs/{need.pk}/finance-elsewhere/",
        {"financed_elsewhere_by": "A bank", "financed_elsewhere_usd": "-5.00"},
        format="json",
    )
    assert response.status_code == 400
    assert FollowUpNeed.objects.get(pk=need.pk).status == "open"


def test_a_need_is_dropped_with_a_reason(completed, client_for):
    need = need_of(completed)
    fm = client_for("fund_manager")
    assert fm.post(f"/api/v1/follow-up-needs/{need.pk}/drop/", {}, format="json").status_code == 400
    response = fm.post(
        f"/api/v1/follow-up-needs/{need.pk}/drop/",
        {"reason": "The ministry changed."},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["dropped_reason"]) == (
        "dropped",
        "The ministry changed.",
    )


def test_a_fund_manager_corrects_an_open_need(completed, client_for):
    need = need_of(completed)
    response = client_for("fund_manager").patch(
        f"/api/v1/follow-up-needs/{need.pk}/", {"estimated_usd": "300000.00"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["estimated_usd"] == "300000.00"
    assert (
        client_for("leader")
        .patch(f"/api/v1/follow-up-needs/{need.pk}/", {"estimated_usd": "1.00"}, format="json")
        .status_code
        == 403
    )


def test_the_database_holds_a_need_to_one_financing(completed, leader, fund_manager):
    need = need_of(completed)
    follow_on = make_grant(leader, GrantStatus.DRAFT)
    for bad in (
        {"status": "financed"},  # financed by nobody
        {
            "status": "financed",
            "financed_by_grant": follow_on,
            "financed_elsewhere_by": "IDB",
            "financed_elsewhere_usd": Decimal("1.00"),
        },  # by both
        {
            "status": "open",
            "financed_elsewhere_by": "IDB",
            "financed_elsewhere_usd": Decimal("1.00"),
        },
        {
            "status": "financed",
            "financed_elsewhere_by": "IDB",
            "financed_elsewhere_usd": Decimal("-1.00"),
        },
        {"status": "financed", "financed_elsewhere_by": "IDB"},  # how much?
        {"status": "dropped"},  # why?
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            FollowUpNeed.objects.filter(pk=need.pk).update(**bad)


filter_cases = [
    ("status=open", 2),
    ("status=financed", 0),
    ("kind=further_exchange", 1),
    ("financed_elsewhere=false", 2),
]


@pytest.mark.parametrize(("query", "count"), filter_cases)
def test_the_needs_list_filters(completed, client_for, query, count):
    response = client_for("fund_manager").get(f"/api/v1/follow-up-needs/?{query}")
    assert response.status_code == 200
    assert response.json()["count"] == count
    response = client_for("fund_manager").get(f"/api/v1/follow-up-needs/?grant={completed.pk}")
    assert response.json()["count"] == 2


# --- Follow-on grants ----------------------------------------------------------------------


def test_a_follow_on_proposed_from_a_need_finances_it_when_approved(
    completed, leader2, fund_manager, client_for
):
    need = need_of(completed)
    response = client_for("other_leader").post(
        f"/api/v1/follow-up-needs/{need.pk}/propose-follow-on/", {}, format="json"
    )
    assert response.status_code == 201, response.json()
    draft = response.json()
    assert draft["status"] == "draft"
    assert (draft["parent"], draft["relation"]) == (completed.pk, "follow_on")
    assert draft["task_team_leader"] == leader2.pk
    assert draft["title"] == f"Follow-on: {completed.title}"
    assert draft["recipient_countries"] == ["HND"]
    assert draft["sector"] == completed.sector_id
    assert draft["targeted_outcomes"] == sorted(completed.targeted_outcomes)
    # A second proposal while this one is under way: 409 duplicate.
    again = client_for("other_leader").post(
        f"/api/v1/follow-up-needs/{need.pk}/propose-follow-on/", {}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "duplicate")

    grant = Grant.objects.get(pk=draft["id"])
    grant_services.grant_transition(grant=grant, user=leader2, action="submit")
    need.refresh_from_db()
    assert need.status == "open"  # not before approval
    fm = client_for("fund_manager")
    approved = fm.post(
        f"/api/v1/grants/{grant.pk}/approve/", {"approved_usd": "100000.00"}, format="json"
    )
    assert approved.status_code == 200, approved.json()
    need.refresh_from_db()
    assert (need.status, need.financed_by_grant_id) == ("financed", grant.pk)
    listed = fm.get(f"/api/v1/follow-up-needs/{need.pk}/").json()
    assert (listed["status"], listed["financed_by_grant"]) == ("financed", grant.pk)
    # Financed once: elsewhere too is refused now.
    twice = fm.post(
        f"/api/v1/follow-up-needs/{need.pk}/finance-elsewhere/",
        {"financed_elsewhere_by": "IDB", "financed_elsewhere_usd": "1.00"},
        format="json",
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_transition")


def test_a_need_financed_elsewhere_meanwhile_is_not_financed_again_by_the_follow_on(
    completed, leader2, fund_manager, client_for
):
    need = need_of(completed)
    draft = services.need_propose_follow_on(need=need, user=leader2)
    services.need_finance_elsewhere(
        need=need,
        user=fund_manager,
        financed_elsewhere_by="IDB",
        financed_elsewhere_usd=Decimal("10.00"),
    )
    grant_services.grant_transition(grant=draft, user=leader2, action="submit")
    grant_services.grant_transition(
        grant=draft, user=fund_manager, action="approve", approved_usd=draft.requested_usd
    )
    need.refresh_from_db()
    assert (need.financed_by_grant_id, need.financed_elsewhere_by) == (None, "IDB")
    proposed = client_for("other_leader").post(
        f"/api/v1/follow-up-needs/{need.pk}/propose-follow-on/", {}, format="json"
    )
    assert (proposed.status_code, proposed.json()["code"]) == (409, "invalid_transition")


@pytest.mark.parametrize(
    "status",
    [GrantStatus.DRAFT, GrantStatus.SUBMITTED, GrantStatus.APPROVED, GrantStatus.CANCELLED],
)
def test_a_parent_in_the_wrong_status_is_a_409(funded, leader, fund_manager, client_for, status):
    parent = make_grant(leader, status, manager=fund_manager)
    before = Grant.objects.count()
    response = client_for("leader").post(
        f"/api/v1/grants/{parent.pk}/propose-follow-on/", {"relation": "repeat"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "completed or closed" in response.json()["detail"]
    assert Grant.objects.count() == before


def test_a_repeat_grant_is_proposed_from_a_closed_grant(funded, leader, fund_manager, client_for):
    parent = finished_grant(leader, fund_manager)
    response = client_for("leader").post(
        f"/api/v1/grants/{parent.pk}/propose-follow-on/", {"relation": "repeat"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["relation"] == "repeat"
    assert response.json()["title"].startswith("Repeat: ")
    bad = client_for("leader").post(
        f"/api/v1/grants/{parent.pk}/propose-follow-on/", {"relation": "cousin"}, format="json"
    )
    assert bad.status_code == 400


def test_cycles_are_refused(funded, leader, fund_manager, client_for):
    a = finished_grant(leader, fund_manager, title="A")
    b = finished_grant(leader, fund_manager, title="B")
    c = finished_grant(leader, fund_manager, title="C")
    fm = client_for("fund_manager")

    def link(child, parent):
        return fm.post(
            f"/api/v1/grants/{child.pk}/link-parent/", {"parent": parent.pk}, format="json"
        )

    assert link(b, a).status_code == 200
    assert link(c, b).status_code == 200
    for child, parent in [(a, c), (a, b), (a, a)]:
        response = link(child, parent)
        assert response.status_code == 409, (child.title, parent.title)
        assert response.json()["code"] == "invalid_transition"
    a.refresh_from_db()
    assert a.parent_id is None
    chain = fm.get(f"/api/v1/grants/{b.pk}/chain/").json()
    assert [g["id"] for g in chain["ancestors"]] == [a.pk]
    assert [(g["id"], g["depth"]) for g in chain["descendants"]] == [(c.pk, 1)]
    # Unlinking is recorded too.
    assert (
        fm.post(f"/api/v1/grants/{c.pk}/link-parent/", {"parent": None}, format="json").json()[
            "parent"
        ]
        is None
    )


def test_the_database_refuses_a_grant_its_own_parent(funded, leader, fund_manager):
    grant = finished_grant(leader, fund_manager)
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.filter(pk=grant.pk).update(parent=grant, relation="repeat")
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.filter(pk=grant.pk).update(relation="repeat")


def test_the_cycle_check_also_catches_a_loop_written_around_the_services(
    funded, leader, fund_manager
):
    """A loop the API cannot make (parents are completed or closed, and only fund
    managers link): written by hand, the service still refuses to extend it."""
    from seetf.common.errors import ApplicationError

    a = finished_grant(leader, fund_manager, title="A")
    b = finished_grant(leader, fund_manager, title="B")
    Grant.objects.filter(pk=a.pk).update(parent=b, relation="follow_on")
    with pytest.raises(ApplicationError, match="ancestor"):
        grant_services.grant_link_parent(grant=b, user=fund_manager, parent=a)


# --- Ex-post checks ------------------------------------------------------------------------


def closed_on(day, leader, fund_manager, **overrides):
    with time_machine.travel(
        timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 10)), tick=False
    ):
        return finished_grant(leader, fund_manager, **overrides)


def test_both_checks_are_created_when_the_grant_is_closed(funded, leader, fund_manager):
    grant = closed_on(date(2026, 8, 31), leader, fund_manager)
    checks = list(
        ExPostCheck.objects.filter(grant=grant).values_list(
            "months_after_close", "closed_on", "due_on"
        )
    )
    assert checks == [
        (6, date(2026, 8, 31), date(2027, 2, 28)),
        (12, date(2026, 8, 31), date(2027, 8, 31)),
    ]
    completed = make_grant(leader, GrantStatus.COMPLETED, manager=fund_manager)
    assert not ExPostCheck.objects.filter(grant=completed).exists()


def test_a_check_filed_early_is_a_409_and_on_its_due_date_it_is_filed_once(
    funded, leader, fund_manager, client_for
):
    grant = closed_on(date(2026, 3, 1), leader, fund_manager)
    check = ExPostCheck.objects.get(grant=grant, months_after_close=6)
    url = f"/api/v1/grants/{grant.pk}/ex-post-checks/{check.pk}/"
    body = {
        "action_plan_adopted": True,
        "reform_enacted": True,
        "evidence": "Decree 14/2026 in the official gazette.",
        "notes": "",
    }
    with time_machine.travel(timezone.make_aware(timezone.datetime(2026, 8, 31, 12)), tick=False):
        early = client_for("leader").put(url, body, format="json")
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    assert "due on 2026-09-01" in early.json()["detail"]
    assert ExPostCheck.objects.get(pk=check.pk).submitted_at is None
    with time_machine.travel(timezone.make_aware(timezone.datetime(2026, 9, 1, 9)), tick=False):
        assert client_for("fund_manager").put(url, body, format="json").status_code == 403
        filed = client_for("leader").put(url, body, format="json")
        assert filed.status_code == 200, filed.json()
        assert filed.json()["submitted_at"] is not None
        assert filed.json()["reform_enacted"] is True
        again = client_for("leader").patch(url, {"pilot_funded": True}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    listed = client_for("donor").get(f"/api/v1/grants/{grant.pk}/ex-post-checks/").json()
    assert [c["months_after_close"] for c in listed["results"]] == [6, 12]


# --- Reports -------------------------------------------------------------------------------


def test_the_follow_up_report_adds_up_the_money_leveraged(completed, fund_manager, client_for):
    services.need_finance_elsewhere(
        need=need_of(completed),
        user=fund_manager,
        financed_elsewhere_by="IDB",
        financed_elsewhere_usd=Decimal("1200000.00"),
    )
    data = client_for("fund_manager").get("/api/v1/reports/follow-up/").json()
    (row,) = data["rows"]
    assert (row["needs"], row["open_needs"], row["financed_needs"]) == (2, 1, 1)
    assert (row["estimated_usd"], row["leveraged_usd"]) == ("250000.00", "1200000.00")
    assert data["totals"]["leveraged_usd"] == "1200000.00"
    assert data["totals"]["needs"] == 2
    csv = client_for("fund_manager").get("/api/v1/reports/follow-up/?format=csv")
    assert b"leveraged_usd" in csv.content and b"1200000.00" in csv.content


def test_the_sustained_results_report_counts_grants_closed_a_year_ago(
    funded, leader, fund_manager, client_for
):
    old = closed_on(date(2025, 1, 10), leader, fund_manager, title="Old")
    older = closed_on(date(2024, 6, 1), leader, fund_manager, title="Older")
    recent = closed_on(date(2026, 1, 10), leader, fund_manager, title="Recent")
    for grant, months, answers in [
        (old, 6, {"action_plan_adopted": True}),
        (old, 12, {"action_plan_adopted": True, "investment_made": True}),
        (older, 12, {"reform_enacted": True}),
        (recent, 6, {"pilot_funded": True}),
    ]:
        check = ExPostCheck.objects.get(grant=grant, months_after_close=months)
        with time_machine.travel(
            timezone.make_aware(
                timezone.datetime.combine(check.due_on, timezone.datetime.min.time())
                + timedelta(hours=9)
            ),
            tick=False,
        ):
            services.ex_post_check_file(check=check, user=leader, **answers)
    with time_machine.travel(timezone.make_aware(timezone.datetime(2026, 2, 1, 9)), tick=False):
        data = client_for("donor").get("/api/v1/reports/sustained-results/").json()
        xlsx = client_for("donor").get("/api/v1/reports/sustained-results/?format=xlsx")
    assert [(r["title"], r["checks_filed"]) for r in data["rows"]] == [("Older", 1), ("Old", 2)]
    assert data["totals"] == {
        "grants": 2,
        "grants_checked": 2,
        "action_plan_adopted": 1,
        "pilot_funded": 0,
        "reform_enacted": 1,
        "investment_made": 1,
        "follow_up_financed": 0,
    }
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_grants_of_the_past_closed_have_their_ex_post_checks(db):
    """The importer's grants of the past (the 2011 review's) that were closed get both
    checks, due from the day they closed; the reminders leave those long past alone."""
    from django.core.management import call_command

    from grants.reminders import claim_reminders

    call_command("load_review_2011", stdout=open("/dev/null", "w"))
    closed = Grant.objects.filter(status=GrantStatus.CLOSED)
    assert closed.exists()
    assert ExPostCheck.objects.count() == 2 * closed.count()
    for check in ExPostCheck.objects.filter(months_after_close=12)[:5]:
        assert check.due_on == services.add_months(check.closed_on, 12)
    assert claim_reminders(as_of=timezone.localdate()) == 0


def test_a_closed_grant_imported_from_a_workbook_has_its_ex_post_checks(tmp_path, fund_manager):
    import io

    from django.core.management import call_command

    from grants.models import GrantHistory
    from portability.importer import import_portfolio

    path = tmp_path / "template.xlsx"
    call_command("import_portfolio", "--template", str(path), stdout=io.StringIO())
    assert import_portfolio(path, user=fund_manager).written
    grant = Grant.objects.get(reference="SEETF-2020-0001")
    closed_at = GrantHistory.objects.get(grant=grant, action="close").at
    checks = list(grant.ex_post_checks.values_list("months_after_close", "closed_on", "due_on"))
    closed_on = timezone.localdate(closed_at)
    assert checks == [
        (6, closed_on, services.add_months(closed_on, 6)),
        (12, closed_on, services.add_months(closed_on, 12)),
    ]


def test_a_follow_on_keeps_the_parent_s_window_while_it_takes_the_proposal(
    funded, leader, fund_manager
):
    from partners import services as partner_services
    from tests.windows.factories import make_window

    window = make_window(fund_manager, allocate="500000.00")
    parent = finished_grant(leader, fund_manager, window=window)
    assert parent.window_id == window.pk
    kept = grant_services.grant_propose_follow_on(parent=parent, user=leader)
    assert kept.window_id == window.pk
    # The window no longer takes a grant of that size: the draft is left out of it.
    partner_services.window_update(
        window=window, user=fund_manager, max_grant_usd=Decimal("50000.00")
    )
    parent = Grant.objects.get(pk=parent.pk)
    left_out = grant_services.grant_propose_follow_on(parent=parent, user=leader)
    assert (left_out.window_id, left_out.parent_id) == (None, parent.pk)
