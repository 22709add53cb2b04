"""Which grants each role sees (list, detail, history), and every filter of the list."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from grants.models import GrantStatus
from partners.models import Country, PartnerKind, Sector
from tests.factories import PartnerFactory, fund_with
from tests.grants.conftest import clients_for, make_role_users, module_transaction
from tests.grants.factories import make_grant

S = GrantStatus
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def portfolio(django_db_setup, django_db_blocker):
    """Ten grants of three leaders at various statuses, sectors, regions and countries,
    made once for the module (see ``module_transaction``)."""
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            data = make_portfolio()
        yield data


@pytest.fixture(scope="module")
def clients(portfolio):
    return clients_for(portfolio["users"])


def make_portfolio():
    users = make_role_users("p")
    users["no_role"] = get_user_model().objects.create_user("p-nobody", password="x-pass-1")
    leader, leader2 = users["leader"], users["other_leader"]
    fund_manager, fm_leader = users["fund_manager"], users["fm_leader"]
    fund_with("5000000.00")
    denmark = PartnerFactory(code="DNKP", kind=PartnerKind.TRADITIONAL_DONOR)
    norway = PartnerFactory(code="NORP", kind=PartnerKind.TRADITIONAL_DONOR)

    def grant(owner, status, title, summary, sector, region, recipients, providers, usd, **kw):
        if "facilitating_partners" in kw:
            # Triangular: approved only once the recipient's endorsement is recorded.
            kw.setdefault("recipient_endorsed_on", date(2026, 1, 5))
        return make_grant(
            owner,
            status,
            manager=fund_manager,
            title=title,
            summary=summary,
            sector=Sector.objects.get(code=sector),
            region=region,
            recipient_countries=[Country.objects.get(code=c) for c in recipients],
            provider_countries=[Country.objects.get(code=c) for c in providers],
            requested_usd=Decimal(usd),
            **kw,
        )

    grants = {
        "s1": grant(
            leader, S.SUBMITTED, "Cash transfers in Honduras", "Mexico shares Prospera.",
            "16010", "LCR", ["HND"], ["MEX"], "100000.00",
        ),
        "a1": grant(
            leader, S.APPROVED, "Dairy reform", "Tanzania learns from India's dairy cooperatives.",
            "31163", "AFR", ["TZA", "UGA"], ["IND"], "250000.00",
            facilitating_partners=[denmark],
        ),
        "c1": grant(
            leader, S.CLOSED, "Land registration", "Mozambique's cadastre learns from Rwanda.",
            "31120", "AFR", ["MOZ"], ["RWA"], "50000.00",
        ),
        "d1": grant(
            leader, S.DRAFT, "Dairy draft", "Not yet submitted.",
            "31163", "AFR", ["KEN"], ["IND"], "10000.00",
        ),
        "u2": grant(
            leader2, S.UNDER_REVIEW, "Tax administration", "Cambodia learns from China.",
            "15110", "EAP", ["KHM"], ["CHN"], "400000.00",
            facilitating_partners=[denmark, norway],
        ),
        "a2": grant(
            leader2, S.APPROVED, "Water utilities", "Nepal's utilities learn from India.",
            "14010", "SAR", ["NPL"], ["IND"], "75000.00",
            facilitating_partners=[norway],
        ),
        "x2": grant(
            leader2, S.CANCELLED, "Tax policy peer learning", "Albania learns from Turkey.",
            "15111", "ECA", ["ALB"], ["TUR"], "120000.00",
        ),
        "r2": grant(
            leader2, S.REJECTED, "Health financing", "Rejected proposal.",
            "12110", "MNA", ["EGY"], ["MAR"], "30000.00",
        ),
        "d2": grant(
            leader2, S.DRAFT, "Second draft", "Private.", "12110", "MNA", ["JOR"], [], "1000.00",
        ),
        "fd": grant(
            fm_leader, S.DRAFT, "A fund manager's own draft", "Private.",
            "16010", "LCR", ["GTM"], ["BRA"], "2000.00",
        ),
    }  # fmt: skip
    return {"grants": grants, "denmark": denmark, "norway": norway, "users": users}


VISIBLE = {
    "leader": {"s1", "a1", "c1", "d1", "a2", "x2"},
    "other_leader": {"u2", "a2", "x2", "r2", "d2", "a1", "c1"},
    "fund_manager": {"s1", "a1", "c1", "u2", "a2", "x2", "r2"},
    "fm_leader": {"s1", "a1", "c1", "u2", "a2", "x2", "r2", "fd"},
    "donor": {"a1", "c1", "a2", "x2"},
}


def names(portfolio, response) -> set[str]:
    assert response.status_code == 200, response.content
    by_id = {g.pk: name for name, g in portfolio["grants"].items()}
    body = response.json()
    assert body["count"] == len(body["results"])
    return {by_id[row["id"]] for row in body["results"]}


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_each_role_lists_and_opens_exactly_what_it_may_see(role, portfolio, clients):
    client = clients[role]
    assert names(portfolio, client.get("/api/v1/grants/?page_size=500")) == VISIBLE[role]
    for name, grant in portfolio["grants"].items():
        want = 200 if name in VISIBLE[role] else 404
        assert client.get(f"/api/v1/grants/{grant.pk}/").status_code == want, name
        assert client.get(f"/api/v1/grants/{grant.pk}/history/").status_code == want, name


def test_no_role_and_anonymous(portfolio, clients):
    a1 = portfolio["grants"]["a1"]
    no_role, anon = clients["no_role"], clients["anonymous"]
    assert no_role.get("/api/v1/grants/").json()["count"] == 0
    assert no_role.get(f"/api/v1/grants/{a1.pk}/").status_code == 404
    assert anon.get("/api/v1/grants/").status_code == 401
    assert anon.get(f"/api/v1/grants/{a1.pk}/").status_code == 401
    assert anon.get(f"/api/v1/grants/{a1.pk}/history/").status_code == 401


def test_a_grant_that_does_not_exist_is_a_404(portfolio, clients):
    assert clients["fund_manager"].get("/api/v1/grants/999999/").status_code == 404


def test_a_draft_appears_to_others_once_submitted(portfolio, clients):
    d1 = portfolio["grants"]["d1"]
    fm = clients["fund_manager"]
    assert fm.get(f"/api/v1/grants/{d1.pk}/").status_code == 404
    assert clients["leader"].post(f"/api/v1/grants/{d1.pk}/submit/").status_code == 200
    assert fm.get(f"/api/v1/grants/{d1.pk}/").status_code == 200
    # Its whole history is visible then, the draft's creation included.
    assert [h["action"] for h in fm.get(f"/api/v1/grants/{d1.pk}/history/").json()] == [
        "create",
        "submit",
    ]


def filter_cases():
    return [
        ("status=approved", {"a1", "a2"}),
        ("status=approved&status=closed", {"a1", "a2", "c1"}),
        ("status=submitted&status=under_review", {"s1", "u2"}),
        ("status=draft", set()),
        ("sector=31163", {"a1"}),
        ("sector=15110", {"u2"}),
        ("region=AFR", {"a1", "c1"}),
        ("region=SAR", {"a2"}),
        ("recipient_country=UGA", {"a1"}),
        ("recipient_country=TZA", {"a1"}),
        ("provider_country=IND", {"a1", "a2"}),
        ("provider_country=IND&recipient_country=NPL", {"a2"}),
        ("facilitating_partner={denmark}", {"a1", "u2"}),
        ("facilitating_partner={norway}", {"u2", "a2"}),
        ("triangular=true", {"a1", "u2", "a2"}),
        ("triangular=false", {"s1", "c1", "x2", "r2"}),
        ("task_team_leader={leader}", {"s1", "a1", "c1"}),
        ("task_team_leader={leader2}", {"u2", "a2", "x2", "r2"}),
        ("min_usd=100000", {"s1", "a1", "u2", "x2"}),
        ("max_usd=75000", {"c1", "a2", "r2"}),
        ("min_usd=50000&max_usd=100000", {"s1", "c1", "a2"}),
        ("min_usd=100000.01", {"a1", "u2", "x2"}),
        ("search=dairy", {"a1"}),
        ("search=LEARNS", {"a1", "c1", "u2", "x2"}),
        ("search=learns india", {"a1"}),
        ("search=tax", {"u2", "x2"}),
        ("search=prospera", {"s1"}),
        ("search=nothing-like-this", set()),
        ("region=AFR&status=closed", {"c1"}),
        ("triangular=true&region=EAP&min_usd=1", {"u2"}),
    ]


@pytest.mark.parametrize(("query", "expected"), filter_cases())
def test_each_filter(query, expected, portfolio, clients):
    query = query.format(
        denmark=portfolio["denmark"].pk,
        norway=portfolio["norway"].pk,
        leader=portfolio["users"]["leader"].pk,
        leader2=portfolio["users"]["other_leader"].pk,
    )
    response = clients["fund_manager"].get(f"/api/v1/grants/?page_size=500&{query}")
    assert names(portfolio, response) == expected


def test_filters_never_widen_what_a_role_sees(portfolio, clients):
    leader = portfolio["users"]["leader"]
    donor_client = clients["donor"]
    assert names(portfolio, donor_client.get("/api/v1/grants/?status=draft")) == set()
    assert names(portfolio, donor_client.get("/api/v1/grants/?search=dairy")) == {"a1"}
    assert names(portfolio, donor_client.get(f"/api/v1/grants/?task_team_leader={leader.pk}")) == {
        "a1",
        "c1",
    }
    leader_client = clients["leader"]
    assert names(portfolio, leader_client.get("/api/v1/grants/?search=dairy")) == {"a1", "d1"}
    assert names(portfolio, leader_client.get("/api/v1/grants/?status=draft")) == {"d1"}


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("requested_usd", ["r2", "c1", "a2", "s1", "x2", "a1", "u2"]),
        ("-requested_usd", ["u2", "a1", "x2", "s1", "a2", "c1", "r2"]),
        ("title", ["s1", "a1", "r2", "c1", "u2", "x2", "a2"]),
        ("-created_at", ["r2", "x2", "a2", "u2", "c1", "a1", "s1"]),
    ],
)
def test_ordering(ordering, expected, portfolio, clients):
    response = clients["fund_manager"].get(f"/api/v1/grants/?page_size=500&ordering={ordering}")
    by_id = {g.pk: name for name, g in portfolio["grants"].items()}
    assert [by_id[row["id"]] for row in response.json()["results"]] == expected


def test_ordering_by_reference_follows_submission(portfolio, clients):
    response = clients["fund_manager"].get("/api/v1/grants/?page_size=500&ordering=reference")
    references = [row["reference"] for row in response.json()["results"]]
    assert references == sorted(references)
    assert len(set(references)) == len(references) == 7


def test_pagination(portfolio, clients):
    fm = clients["fund_manager"]
    first = fm.get("/api/v1/grants/?page_size=3&ordering=requested_usd").json()
    assert first["count"] == 7
    assert first["previous"] is None and first["next"] is not None
    third = fm.get("/api/v1/grants/?page_size=3&ordering=requested_usd&page=3").json()
    assert len(third["results"]) == 1
    assert third["next"] is None


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "sector=99999",
        "region=XXX",
        "recipient_country=ZZZ",
        "provider_country=zzz",
        "facilitating_partner=987654",
        "task_team_leader=abc",
        "min_usd=abc",
        "max_usd=1e999",
        "page=99",
    ],
)
def test_a_bad_filter_value_is_a_client_error(query, portfolio, clients):
    response = clients["fund_manager"].get(f"/api/v1/grants/?{query}")
    assert response.status_code == (404 if query.startswith("page=") else 400), response.content
