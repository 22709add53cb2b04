"""Who may do what after the exchange, for every role (API.md roles; issue 19): a closed
grant of ``leader`` whose accepted report has two follow-up needs, its 6-month ex-post
check due. 401 without credentials; 404 for what the user may not see (a window manager
sees no grant outside their windows); 403 for a role that may not act."""

from datetime import date, datetime

import pytest
import time_machine
from django.utils import timezone

from partners.roles import Role
from results import services
from results.models import ExPostCheck, FollowUpNeed
from tests.grants.factories import REPORT
from tests.results.factories import finished_grant

pytestmark = pytest.mark.django_db

ROLES = ["fund_manager", "window_manager", "leader", "other_leader", "donor", "anonymous"]
CLOSED_ON = date(2026, 1, 15)
TODAY = datetime(2026, 7, 20, 10)  # the 6-month check is due (2026-07-15)


@pytest.fixture
def world(db, leader, fund_manager, make_user):
    from tests.factories import fund_with

    fund_with("50000000.00")
    make_user("wm", Role.WINDOW_MANAGER)
    with time_machine.travel(timezone.make_aware(datetime(2026, 1, 15, 10)), tick=False):
        grant = finished_grant(leader, fund_manager, accept=False)
        services.completion_report_accept(grant=grant, user=fund_manager)
        other = finished_grant(leader, fund_manager, title="Another closed grant")
    # The needs are written before submitting in real life; here straight in, open.
    report = grant.completion_report
    for kind in ("investment", "further_exchange"):
        FollowUpNeed.objects.create(grant=grant, report=report, kind=kind, description=kind)
    from grants import services as grant_services

    with time_machine.travel(timezone.make_aware(datetime(2026, 1, 15, 11)), tick=False):
        grant = grant_services.grant_transition(grant=grant, user=fund_manager, action="close")
    return {"grant": grant, "other": other}


@pytest.fixture
def who(request, user_for, make_user):
    def get(role):
        if role == "window_manager":
            from django.contrib.auth import get_user_model

            return get_user_model().objects.get(username="wm")
        return user_for(role)

    return get


def call(client, world, endpoint):
    grant, other = world["grant"], world["other"]
    need, need2 = FollowUpNeed.objects.filter(grant=grant).order_by("pk")
    check = ExPostCheck.objects.get(grant=grant, months_after_close=6)
    g = f"/api/v1/grants/{grant.pk}"
    requests = {
        "needs list": ("get", "/api/v1/follow-up-needs/", None),
        "need detail": ("get", f"/api/v1/follow-up-needs/{need.pk}/", None),
        "need edit": ("patch", f"/api/v1/follow-up-needs/{need.pk}/", {"description": "New"}),
        "need financed elsewhere": (
            "post",
            f"/api/v1/follow-up-needs/{need.pk}/finance-elsewhere/",
            {"financed_elsewhere_by": "IDB", "financed_elsewhere_usd": "10.00"},
        ),
        "need dropped": ("post", f"/api/v1/follow-up-needs/{need2.pk}/drop/", {"reason": "Gone"}),
        "need follow-on": ("post", f"/api/v1/follow-up-needs/{need.pk}/propose-follow-on/", {}),
        "grant follow-on": ("post", f"{g}/propose-follow-on/", {"relation": "repeat"}),
        "link parent": ("post", f"{g}/link-parent/", {"parent": other.pk}),
        "chain": ("get", f"{g}/chain/", None),
        "ex-post checks": ("get", f"{g}/ex-post-checks/", None),
        "ex-post check": ("get", f"{g}/ex-post-checks/{check.pk}/", None),
        "ex-post filed": (
            "put",
            f"{g}/ex-post-checks/{check.pk}/",
            {"action_plan_adopted": True, "evidence": "Gazette", "notes": ""},
        ),
        "sustained results": ("get", "/api/v1/reports/sustained-results/", None),
        "follow-up report": ("get", "/api/v1/reports/follow-up/", None),
    }
    method, url, body = requests[endpoint]
    with time_machine.travel(timezone.make_aware(TODAY), tick=False):
        return getattr(client, method)(url, body, format="json")


READ = {
    "fund_manager": 200,
    "window_manager": 404,
    "leader": 200,
    "other_leader": 200,
    "donor": 200,
    "anonymous": 401,
}
DECIDE = {
    "fund_manager": 200,
    "window_manager": 404,
    "leader": 403,
    "other_leader": 403,
    "donor": 403,
    "anonymous": 401,
}
PROPOSE = {
    "fund_manager": 403,
    "window_manager": 404,
    "leader": 201,
    "other_leader": 201,
    "donor": 403,
    "anonymous": 401,
}
FILE = {
    "fund_manager": 403,
    "window_manager": 404,
    "leader": 200,
    "other_leader": 403,
    "donor": 403,
    "anonymous": 401,
}
REPORTS = {**dict.fromkeys(ROLES, 200), "anonymous": 401}
EXPECTED = {
    "needs list": {**READ, "window_manager": 200},
    "need detail": READ,
    "need edit": DECIDE,
    "need financed elsewhere": DECIDE,
    "need dropped": DECIDE,
    "need follow-on": PROPOSE,
    "grant follow-on": PROPOSE,
    "link parent": DECIDE,
    "chain": READ,
    "ex-post checks": READ,
    "ex-post check": READ,
    "ex-post filed": FILE,
    "sustained results": REPORTS,
    "follow-up report": REPORTS,
}
# What each list gives each role that may read it (the rows it sees).
NEEDS_SEEN = {"fund_manager": 2, "window_manager": 0, "leader": 2, "other_leader": 2, "donor": 2}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(EXPECTED))
def test_each_role_on_each_endpoint(world, who, role, endpoint):
    from tests.conftest import api_client

    response = call(api_client(who(role)), world, endpoint)
    assert response.status_code == EXPECTED[endpoint][role], (role, endpoint, response.content)
    if response.status_code == 403:
        assert response.json()["code"] == "permission_denied"
    if endpoint == "needs list" and role in NEEDS_SEEN:
        assert response.json()["count"] == NEEDS_SEEN[role]


def test_needs_of_a_report_not_accepted_stay_with_the_leader_and_fund_managers(
    funded_world_unaccepted, who
):
    from tests.conftest import api_client

    grant = funded_world_unaccepted
    counts = {
        role: api_client(who(role))
        .get(f"/api/v1/follow-up-needs/?grant={grant.pk}")
        .json()["count"]
        for role in ["fund_manager", "leader", "other_leader", "donor", "window_manager"]
    }
    assert counts == {
        "fund_manager": 1,
        "leader": 1,
        "other_leader": 0,
        "donor": 0,
        "window_manager": 0,
    }


@pytest.fixture
def funded_world_unaccepted(db, leader, fund_manager, make_user):
    from grants.models import GrantStatus
    from tests.factories import fund_with
    from tests.grants.factories import make_grant

    fund_with("50000000.00")
    make_user("wm", Role.WINDOW_MANAGER)
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    services.completion_report_save(
        grant=grant,
        user=leader,
        **REPORT,
        follow_up_needs=[{"kind": "investment", "description": "A loan"}],
    )
    services.completion_report_submit(grant=grant, user=leader)
    return grant
