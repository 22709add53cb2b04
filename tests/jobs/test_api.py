"""`/api/v1/reminders/` and `/api/v1/alerts/`: who sees what, the filters, and a constant
number of queries whatever the number of rows."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from grants.alerts import run_fund_check
from grants.models import GrantStatus, Reminder
from grants.reminders import ReminderDeliveryError, run_reminders
from partners.models import AlertKind, FundAlert
from tests.factories import fund_with
from tests.grants.factories import make_grant

from .conftest import DUE, on_day

pytestmark = pytest.mark.django_db

REMINDER_FIELDS = {"id", "grant", "kind", "sent_at", "recipient"}  # API.md, at least
ALERT_FIELDS = {
    "id",
    "kind",
    "raised_at",
    "resolved_at",
    "available_usd",
    "threshold_usd",
    "pipeline_usd",
}
SIZES = [10, 200]
# Each request: the user's roles, the page's count, the page.
LIST_QUERIES = 3


@pytest.fixture
def reminded(funded, leader, leader2, managers):
    """Two leaders' grants 30 days overdue: each leader has an upcoming and two overdue
    reminders (the day after, and the fifth week), each fund manager an escalation for
    each grant."""
    with on_day(date(2026, 1, 5)):
        mine = make_grant(leader, GrantStatus.APPROVED, manager=managers[0])
        theirs = make_grant(leader2, GrantStatus.APPROVED, manager=managers[0])
    for offset in (-14, 1, 30):
        day = DUE + timedelta(days=offset)
        with on_day(day):
            run_reminders(as_of=day)
    return {"mine": mine, "theirs": theirs}


@pytest.fixture
def raised(managers):
    """A low-balance alert raised and resolved, then raised again; a pipeline alert open."""
    fund_with("100000.00")
    run_fund_check()
    FundAlert.objects.update(resolved_at=timezone.now())
    run_fund_check()
    return FundAlert.objects.create(
        kind=AlertKind.PIPELINE_EXCEEDS_BALANCE,
        raised_at=timezone.now(),
        available_usd=Decimal("100000.00"),
        threshold_usd=Decimal("250000.00"),
        pipeline_usd=Decimal("300000.00"),
    )


# Both lists are read-only (ReadOnlyModelViewSet). A write is a method the endpoint does
# not offer: 405 for anyone signed in, before any rule on who may read (API.md); without
# credentials, 401 first.
WRITE_STATUSES = [
    ("fund_manager", 405),
    ("leader", 405),
    ("donor", 405),
    ("no_role", 405),
    ("anonymous", 401),
]


def assert_nothing_written(client, url, pk, body, status):
    """Every write to the list and to one row answers ``status``; no row of either
    endpoint changes."""
    before = (list(Reminder.objects.values()), list(FundAlert.objects.values()))
    for method, path in [("post", url), *((m, f"{url}{pk}/") for m in ("put", "patch", "delete"))]:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == status, (method, path, response.content)
    assert (list(Reminder.objects.values()), list(FundAlert.objects.values())) == before


# --- /api/v1/reminders/ -------------------------------------------------------------------


def test_a_fund_manager_sees_every_reminder(fresh_client, reminded, fund_manager):
    response = fresh_client(fund_manager).get("/api/v1/reminders/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == Reminder.objects.count() == 2 * 3 + 2 * 2
    row = body["results"][0]
    assert REMINDER_FIELDS <= set(row)
    assert row["kind"] in {"upcoming", "overdue", "escalation"}


def test_a_leader_sees_only_the_reminders_sent_to_them(fresh_client, reminded, leader, leader2):
    for user, grant in ((leader, reminded["mine"]), (leader2, reminded["theirs"])):
        body = fresh_client(user).get("/api/v1/reminders/").json()
        assert {r["recipient"] for r in body["results"]} == {user.email}
        assert {r["grant"] for r in body["results"]} == {grant.pk}
        assert sorted(r["kind"] for r in body["results"]) == ["overdue", "overdue", "upcoming"]
    other = Reminder.objects.filter(recipient=leader2.email).first()
    assert fresh_client(leader).get(f"/api/v1/reminders/{other.pk}/").status_code == 404
    own = Reminder.objects.filter(recipient=leader.email).first()
    response = fresh_client(leader).get(f"/api/v1/reminders/{own.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == own.pk


def test_a_fund_manager_who_leads_grants_sees_every_reminder(fresh_client, reminded, fm_leader):
    body = fresh_client(fm_leader).get("/api/v1/reminders/").json()
    assert body["count"] == Reminder.objects.count()


@pytest.mark.parametrize(("role", "status"), [("donor", 403), ("no_role", 403), ("anonymous", 401)])
def test_donors_and_others_see_no_reminders(fresh_client, reminded, role, status):
    response = fresh_client(role).get("/api/v1/reminders/")
    assert response.status_code == status
    some = Reminder.objects.first()
    assert fresh_client(role).get(f"/api/v1/reminders/{some.pk}/").status_code == status


def test_reminders_filter_by_kind_grant_and_sent(fresh_client, reminded, fund_manager, settings):
    client = fresh_client(fund_manager)
    body = client.get("/api/v1/reminders/", {"kind": "escalation"}).json()
    assert body["count"] == 4
    assert {r["kind"] for r in body["results"]} == {"escalation"}
    body = client.get("/api/v1/reminders/", {"grant": reminded["mine"].pk}).json()
    assert body["count"] == 5
    assert client.get("/api/v1/reminders/", {"sent": "true"}).json()["count"] == 10
    assert client.get("/api/v1/reminders/", {"sent": "false"}).json()["count"] == 0
    settings.EMAIL_BACKEND = "tests.jobs.mail_backends.RefusedBackend"
    with on_day(DUE + timedelta(days=37)), pytest.raises(ReminderDeliveryError):
        run_reminders(as_of=DUE + timedelta(days=37))
    body = client.get("/api/v1/reminders/", {"sent": "false"}).json()
    assert body["count"] == 2
    assert {r["sent_at"] for r in body["results"]} == {None}
    assert client.get("/api/v1/reminders/", {"kind": "nonsense"}).status_code == 400


@pytest.mark.parametrize(("role", "status"), WRITE_STATUSES)
def test_reminders_cannot_be_written(fresh_client, reminded, role, status):
    some = Reminder.objects.first()
    body = {"grant": some.grant_id, "kind": "overdue", "sent_at": None}
    assert_nothing_written(fresh_client(role), "/api/v1/reminders/", some.pk, body, status)


# --- /api/v1/alerts/ ------------------------------------------------------------------------


def test_a_fund_manager_sees_the_alerts(fresh_client, raised, fund_manager):
    response = fresh_client(fund_manager).get("/api/v1/alerts/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert ALERT_FIELDS <= set(body["results"][0])
    newest = body["results"][0]
    assert newest["id"] == raised.pk  # newest first
    assert newest["kind"] == "pipeline_exceeds_balance"
    assert Decimal(newest["pipeline_usd"]) == Decimal("300000.00")
    detail = fresh_client(fund_manager).get(f"/api/v1/alerts/{raised.pk}/")
    assert detail.status_code == 200 and detail.json()["id"] == raised.pk


def test_alerts_filter_by_kind_and_open(fresh_client, raised, fund_manager):
    client = fresh_client(fund_manager)

    def ids(**params):
        response = client.get("/api/v1/alerts/", params)
        assert response.status_code == 200
        return sorted(row["id"] for row in response.json()["results"])

    low = sorted(FundAlert.objects.filter(kind=AlertKind.LOW_BALANCE).values_list("pk", flat=True))
    assert ids(kind="low_balance") == low
    assert ids(kind="pipeline_exceeds_balance") == [raised.pk]
    open_ids = sorted(FundAlert.objects.filter(resolved_at=None).values_list("pk", flat=True))
    assert ids(open="true") == open_ids and len(open_ids) == 2
    assert ids(open="false") == [low[0]]
    assert ids(kind="low_balance", open="true") == [low[1]]
    assert client.get("/api/v1/alerts/", {"kind": "nonsense"}).status_code == 400


@pytest.mark.parametrize(
    ("role", "status"),
    [("leader", 403), ("donor", 403), ("no_role", 403), ("anonymous", 401)],
)
def test_only_fund_managers_see_alerts(fresh_client, raised, role, status):
    client = fresh_client(role)
    assert client.get("/api/v1/alerts/").status_code == status
    assert client.get(f"/api/v1/alerts/{raised.pk}/").status_code == status


@pytest.mark.parametrize(("role", "status"), WRITE_STATUSES)
def test_alerts_cannot_be_written(fresh_client, raised, role, status):
    body = {"kind": "low_balance", "resolved_at": None}
    assert_nothing_written(fresh_client(role), "/api/v1/alerts/", raised.pk, body, status)


# --- Query counts ---------------------------------------------------------------------------


def bulk_reminders(n, grant, leader, managers):
    kinds = ["upcoming", "overdue", "escalation"]
    Reminder.objects.bulk_create(
        Reminder(
            grant=grant,
            kind=kinds[i % 3],
            sequence=i,
            due_date=DUE,
            recipient_user=managers[0] if i % 3 == 2 else leader,
            recipient=managers[0].email if i % 3 == 2 else leader.email,
            sent_at=timezone.now() if i % 2 else None,
        )
        for i in range(n)
    )


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("who", ["fund_manager", "leader"])
def test_the_reminder_list_runs_constant_queries(
    fresh_client, n, who, approved_grant, leader, managers, django_assert_num_queries
):
    bulk_reminders(n, approved_grant, leader, managers)
    client = fresh_client(who)  # the fund manager is managers[0]
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/api/v1/reminders/", {"page_size": 500})
    assert response.status_code == 200
    expected = n if who == "fund_manager" else n - n // 3
    assert response.json()["count"] == expected


@pytest.mark.parametrize("n", SIZES)
def test_the_alert_list_runs_constant_queries(
    fresh_client, n, fund_manager, django_assert_num_queries
):
    FundAlert.objects.bulk_create(
        FundAlert(
            kind=AlertKind.LOW_BALANCE,
            raised_at=timezone.now() - timedelta(days=i),
            resolved_at=timezone.now() if i else None,
            available_usd=Decimal("1.00"),
            threshold_usd=Decimal("250000.00"),
            pipeline_usd=Decimal("0.00"),
        )
        for i in range(n)
    )
    client = fresh_client(fund_manager)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/api/v1/alerts/", {"page_size": 500, "open": "false"})
    assert response.status_code == 200
    assert response.json()["count"] == n - 1


def test_filtering_by_a_grant_tells_a_leader_nothing_about_grants_they_cannot_see(
    fresh_client, reminded, leader, leader2
):
    """Another leader's draft and a grant that does not exist answer alike: no reminders
    (not a 400 'select a valid choice' for one and a 200 for the other)."""
    draft = make_grant(leader2, GrantStatus.DRAFT)
    client = fresh_client(leader)
    for grant_id in (draft.pk, draft.pk + 1000, reminded["theirs"].pk):
        response = client.get("/api/v1/reminders/", {"grant": grant_id})
        assert response.status_code == 200
        assert response.json()["count"] == 0
    assert client.get("/api/v1/reminders/", {"grant": "x"}).status_code == 400
