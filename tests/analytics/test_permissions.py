"""Every role against the three analytics reports, as the other reports are read
(API.md's roles; the capacity-outcomes report's rule): anonymous 401, a user with no role
403, every signed-in role 200 over the grants it may see (``grants_visible_to``): a fund
manager every grant that is not a draft, a leader their own and others' once approved, a
donor the approved and later. JSON, CSV and XLSX answer alike."""

from datetime import date

import pytest

from grants.models import ExchangeStatus, GrantStatus
from tests.factories import fund_with
from tests.grants.factories import make_exchange, make_grant

pytestmark = pytest.mark.django_db

REPORTS = [
    "/api/v1/reports/cycle-times/",
    "/api/v1/reports/portfolio-indicators/",
    "/api/v1/reports/exchange-flows/",
]
FORMATS = ["", "?format=csv", "?format=xlsx"]


@pytest.fixture
def world(db, leader, leader2, fund_manager):
    """An approved grant of the leader with a held exchange (MEX -> HND), a submitted one
    of the leader, a submitted one of another leader, and a draft."""
    fund_with("1000000.00")
    approved = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    make_exchange(
        approved,
        fund_manager,
        status=ExchangeStatus.HELD,
        participants=10,
        women_participants=6,
        start_date=date(2026, 2, 1),
    )
    return {
        "approved": approved,
        "own_submitted": make_grant(leader, GrantStatus.SUBMITTED, title="Own proposal"),
        "other_submitted": make_grant(leader2, GrantStatus.SUBMITTED, title="Another's"),
        "draft": make_grant(leader, GrantStatus.DRAFT, title="A draft"),
    }


@pytest.mark.parametrize("url", REPORTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_is_401(world, anon, url, fmt):
    assert anon.get(url + fmt).status_code == 401


@pytest.mark.parametrize("url", REPORTS)
def test_a_user_without_a_role_is_403(world, client_for, url):
    response = client_for("no_role").get(url)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


# Grants in the cycle times (submitted at least once) each role may see.
CYCLE_GRANTS = {
    "fund_manager": 3,  # every non-draft
    "superuser": 3,
    "task_team_leader": 2,  # own approved and own submitted; not another's proposal
    "other_leader": 2,  # own submitted, and the approved one of the other leader
    "fm_leader": 3,
    "donor": 1,  # the approved one only
}


@pytest.mark.parametrize("role", sorted(CYCLE_GRANTS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_signed_in_role_reads_over_the_grants_it_may_see(world, client_for, role, fmt):
    client = client_for(role)
    for url in REPORTS:
        response = client.get(url + fmt)
        assert response.status_code == 200, (role, url, response.content[:200])
    body = client.get(REPORTS[0]).json()
    assert body["totals"]["grants"] == CYCLE_GRANTS[role]
    flows = client.get(REPORTS[2]).json()
    assert [
        (row["provider"], row["recipient"], row["women_participants"]) for row in flows["rows"]
    ] == [("MEX", "HND", 6)]
    indicators = {row["indicator"]: row["value"] for row in client.get(REPORTS[1]).json()["rows"]}
    assert indicators["grants_approved"] == "1"
    assert indicators["women_participant_share"] == "60.0"


def test_the_cache_never_gives_one_users_report_to_another(world, client_for):
    """The report is cached per visibility: a leader reading after a fund manager does
    not get the fund manager's figures."""
    assert client_for("fund_manager").get(REPORTS[0]).json()["totals"]["grants"] == 3
    assert client_for("task_team_leader").get(REPORTS[0]).json()["totals"]["grants"] == 2
    assert client_for("other_leader").get(REPORTS[0]).json()["totals"]["grants"] == 2


def test_a_new_record_is_seen_at_once(world, client_for, fund_manager, leader):
    client = client_for("fund_manager")
    assert client.get(REPORTS[0]).json()["totals"]["grants"] == 3
    make_grant(leader, GrantStatus.SUBMITTED, title="One more")
    assert client.get(REPORTS[0]).json()["totals"]["grants"] == 4


@pytest.mark.parametrize(
    "url, error",
    [
        ("/api/v1/reports/exchange-flows/?by=continent", "by"),
        ("/api/v1/reports/portfolio-indicators/?approved_from=yesterday", "approved_from"),
        (
            "/api/v1/reports/portfolio-indicators/?approved_from=2026-02-01&approved_to=2026-01-01",
            "approved_to",
        ),
        ("/api/v1/reports/portfolio-indicators/?window=one", "window"),
        ("/api/v1/reports/exchange-flows/?region=XXX", "region"),
    ],
)
def test_bad_filters_are_400_by_field(world, client_for, url, error):
    response = client_for("donor").get(url)
    assert response.status_code == 400
    assert list(response.json()) == [error]


def test_the_indicators_period(world, client_for):
    client = client_for("fund_manager")
    today = world["approved"].decided_at.date().isoformat()
    inside = client.get(f"/api/v1/reports/portfolio-indicators/?approved_from={today}").json()
    assert {r["indicator"]: r["value"] for r in inside["rows"]}["grants_approved"] == "1"
    before = client.get("/api/v1/reports/portfolio-indicators/?approved_to=2000-01-01").json()
    assert {r["indicator"]: r["value"] for r in before["rows"]}["grants_approved"] == "0"


def test_the_indicators_count_the_countries_of_grants_and_of_exchanges_held_by_role(
    world, client_for, fund_manager
):
    """Recipients and providers: the grants' (HND, MEX) and their held exchanges' own
    (here BRA providing to MEX, so MEX plays both roles); a planned exchange's (IND to
    CHN) count for nothing."""
    from partners.models import Country

    approved = world["approved"]
    make_exchange(
        approved,
        fund_manager,
        status=ExchangeStatus.HELD,
        provider_countries=[Country.objects.get(code="BRA")],
        recipient_countries=[Country.objects.get(code="MEX")],
    )
    make_exchange(
        approved,
        fund_manager,
        status=ExchangeStatus.PLANNED,
        provider_countries=[Country.objects.get(code="IND")],
        recipient_countries=[Country.objects.get(code="CHN")],
    )
    body = client_for(fund_manager).get("/api/v1/reports/portfolio-indicators/").json()
    assert body["countries"] == {
        "recipients": ["HND", "MEX"],
        "providers": ["BRA", "MEX"],
        "both": ["MEX"],
    }
    values = {row["indicator"]: row["value"] for row in body["rows"]}
    assert values["countries_involved"] == "3"
    assert values["recipient_countries"] == "2"
    assert values["provider_countries"] == "2"
    assert values["countries_both_roles"] == "1"
