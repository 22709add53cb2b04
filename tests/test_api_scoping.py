"""Scoping cannot be forgotten (issue 11, point 4).

- A scoped view (``seetf.common.api.ScopedViewMixin``) that declares no scope, or that
  reads around it, fails when its class is made, that is at import.
- Every API route is a scoped view, or an exemption listed here with its reason.
- Every list reads through its scope: what each list route gives a user is among the
  rows its declared scope gives that user.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import generics, mixins

from accounts.api.views import ObtainTokenView, RevokeTokenView
from analytics.api import (
    CycleTimesReportView,
    ExchangeFlowsReportView,
    PortfolioIndicatorsReportView,
)
from analytics.cycletimes import submitted_grants
from grants import services as grant_services
from grants.alerts import run_fund_check
from grants.api.views import FundSummaryView, GrantViewSet
from grants.models import APPROVED_AND_LATER, Exchange, ExchangeStatus, Grant, GrantStatus, Reminder
from grants.reminders import run_reminders
from partners.api.views import (
    ContributionReportView,
    CountryViewSet,
    SectorViewSet,
)
from partners.models import Contribution, Country, FundAlert
from partners.roles import Role
from results.api.reports import CapacityOutcomesReportView, FollowUpReportView
from results.models import ResultsStory
from seetf.common.api import (
    ReportCSVRenderer,
    ScopedAPIView,
    ScopedReadOnlyViewSet,
    ScopedViewMixin,
    ScopedViewSet,
)
from tests.documents.factories import make_document
from tests.factories import fund_with
from tests.grants.factories import make_exchange, make_grant
from tests.results.factories import finished_grant, make_story

# The API routes that read no rows, and why they need no scope.
EXEMPT = {
    ObtainTokenView: "exchanges credentials for a token: reads only the user logging in",
    RevokeTokenView: "deletes the token the request was sent with: reads no other row",
    FundSummaryView: "the fund's totals, the same for everyone its read rule admits: no rows",
    SpectacularAPIView: "the OpenAPI schema: describes the API, reads no data",
    SpectacularSwaggerSplitView: "the browsable docs page for the schema: reads no data",
}

# How a list's items name their row, and the same in its scope: (item key, scope field).
ROW_KEYS = {
    CountryViewSet: ("code", "pk"),
    SectorViewSet: ("code", "pk"),
    ContributionReportView: ("code", "code"),  # a row per partner
    CapacityOutcomesReportView: ("grant", "pk"),
    FollowUpReportView: ("grant", "pk"),
}
# Reports whose rows are aggregates (groups, indicators, country pairs), not rows of their
# scope: what they count must be what the scope gives. (body, the scope) -> ok.
AGGREGATES = {
    CycleTimesReportView: lambda body, scope: (
        body["totals"]["grants"] == submitted_grants(scope).count()
    ),
    PortfolioIndicatorsReportView: lambda body, scope: (
        {row["indicator"]: row["value"] for row in body["rows"]}["grants_approved"]
        == str(scope.filter(status__in=APPROVED_AND_LATER).count())
    ),
    ExchangeFlowsReportView: lambda body, scope: (
        body["totals"]["grants"]
        <= scope.filter(exchanges__status=ExchangeStatus.HELD).distinct().count()
    ),
}
# The parent a nested route names, and where its ids come from.
URL_ARGUMENTS = {"grant_pk": Grant, "contribution_pk": Contribution, "exchange_pk": Exchange}


def api_routes():
    """``(route, url name, view callback)`` for every URL under ``/api/``, DRF router
    routes and plain views alike, walking included URL lists recursively."""

    def walk(resolver, prefix):
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry, route)
            elif isinstance(entry, URLPattern) and route.startswith("api/"):
                yield route, entry, entry.callback

    return list(walk(get_resolver(), ""))


def view_class(callback):
    # DRF's as_view() sets ``cls`` (viewsets and APIViews), Django's ``view_class``.
    return getattr(callback, "cls", None) or callback.view_class


def is_scoped(cls) -> bool:
    return issubclass(cls, ScopedViewMixin) and callable(cls.scope)


# --- At import -----------------------------------------------------------------------------


@pytest.mark.parametrize("base", [ScopedViewSet, ScopedReadOnlyViewSet, ScopedAPIView])
def test_a_view_that_declares_no_scope_fails_when_its_class_is_made(base):
    with pytest.raises(ImproperlyConfigured, match="Forgotten declares no scope: set scope ="):
        type("Forgotten", (base,), {"__module__": __name__})


NOTHING = staticmethod(lambda user: Grant.objects.none())


def test_a_view_may_not_read_around_its_scope():
    with pytest.raises(ImproperlyConfigured, match=r"overrides get_queryset\(\)"):

        class OwnQueryset(ScopedViewSet):
            scope = NOTHING

            def get_queryset(self):
                return Grant.objects.all()

    with pytest.raises(ImproperlyConfigured, match=r"GrantsOfAll overrides get_queryset\(\)"):

        class GrantsOfAll(GrantViewSet):
            def get_queryset(self):
                return Grant.objects.all()

    with pytest.raises(ImproperlyConfigured, match=r"overrides scoped\(\)"):

        class OwnScoped(ScopedViewSet):
            scope = NOTHING

            def scoped(self):
                return Grant.objects.all()

    with pytest.raises(ImproperlyConfigured, match="sets a queryset that reads rows"):

        class WithQueryset(ScopedViewSet):
            scope = NOTHING
            queryset = Grant.objects.all()

    with pytest.raises(ImproperlyConfigured, match=r"overrides get_queryset\(\)"):
        # DRF's own get_queryset first in the MRO would read ``queryset``, unscoped.
        type("Behind", (generics.ListAPIView, ScopedViewMixin), {"scope": NOTHING})

    # A model for the schema reads nothing, and refine() is where a view narrows.
    class Declared(ScopedViewSet):
        scope = NOTHING
        queryset = Grant.objects.none()

        def refine(self, grants):
            return grants.filter(status=GrantStatus.APPROVED)

    assert is_scoped(Declared)


def test_an_abstract_base_may_leave_the_scope_to_its_subclasses():
    class Base(ScopedViewSet, abstract=True):
        pass

    class Concrete(Base):
        scope = NOTHING

    with pytest.raises(ImproperlyConfigured, match="declares no scope"):

        class Forgotten(Base):
            pass

    assert is_scoped(Concrete) and not is_scoped(Base)


# --- Every route -----------------------------------------------------------------------------


def test_every_api_route_is_a_scoped_view_or_a_listed_exemption():
    routes = api_routes()
    unscoped = sorted(
        f"/{route} ({view_class(callback).__qualname__})"
        for route, _, callback in routes
        if not is_scoped(view_class(callback)) and view_class(callback) not in EXEMPT
    )
    assert unscoped == [], "API views that read rows without a declared scope"

    classes = {view_class(callback) for _, _, callback in routes}
    assert set(EXEMPT) <= classes, "an exemption for a view no route serves"
    assert not [cls for cls in EXEMPT if is_scoped(cls)], "an exempt view that is scoped"
    # The walk reaches router routes, nested routes and plain views alike.
    names = {entry.name for _, entry, _ in routes}
    assert {"grant-list", "reminder-list", "exchange-list", "lesson-list"} <= names
    assert {
        "completion-report",
        "report-contributions",
        "auth-token",
        "auth-token-revoke",
        "schema",
    } <= names
    assert len([cls for cls in classes if is_scoped(cls)]) >= 15


# --- Lists read through their scope ----------------------------------------------------------


def list_routes():
    """``(url name, view class, URL argument names)`` of each route that lists rows: a
    viewset's list, a list view, a report of rows."""
    found = []
    for route, entry, callback in api_routes():
        cls = view_class(callback)
        actions = getattr(callback, "actions", None) or {}
        lists = (
            actions.get("get") == "list"
            or (not actions and issubclass(cls, mixins.ListModelMixin))
            or ReportCSVRenderer in getattr(cls, "renderer_classes", ())
        )
        if lists and route.startswith("api/v1/"):
            found.append((entry.name, cls, list(entry.pattern.regex.groupindex)))
    return found


@pytest.fixture
def portfolio(make_user, fund_manager, leader, leader2, donor):
    """Rows on each side of each scope: drafts and decisions in progress (another
    leader's), approved grants with exchanges and disbursements, a completed grant with
    its report not yet accepted, a closed one with lessons; reminders to both leaders
    and the fund managers; stories published and not; contributions, receipts, alerts."""
    fund_with("100000.00")
    run_fund_check()  # A low-balance alert.
    fund_with("5000000.00")
    # (who plans or records an exchange, on which grant): its leader on a draft or a
    # returned proposal, fund managers once approved.
    planned = [
        (leader2, make_grant(leader2, GrantStatus.DRAFT)),
        (leader2, make_grant(leader2, GrantStatus.RETURNED, manager=fund_manager)),
    ]
    make_grant(leader2, GrantStatus.SUBMITTED)
    make_grant(leader, GrantStatus.UNDER_REVIEW, manager=fund_manager)
    for owner in (leader, leader2):
        approved = make_grant(owner, GrantStatus.APPROVED, manager=fund_manager)
        planned.append((fund_manager, approved))
        grant_services.disbursement_record(
            grant=approved,
            user=fund_manager,
            amount_usd=Decimal("1000.00"),
            disbursed_on=date(2026, 2, 1),
        )
    for user, grant in planned:
        make_exchange(grant, user)
    # make_grant plans the end for 2026-06-30: its report was due 60 days later.
    run_reminders(as_of=date(2026, 10, 1))
    finished_grant(leader2, fund_manager, accept=False)
    closed = finished_grant(leader2, fund_manager)
    make_story(fund_manager, closed, published=True)
    make_story(fund_manager, closed, title="A draft")
    for user, grant in planned:  # documents of drafts, returned and approved grants
        make_document(grant, grant.task_team_leader if user == leader2 else user)
    make_document(closed, leader2)
    make_user("lonely", Role.TASK_TEAM_LEADER)  # leads no grant, was sent nothing
    assert Reminder.objects.exclude(recipient_user__username="lonely").exists()
    assert FundAlert.objects.exists() and ResultsStory.objects.filter(published=False).exists()
    assert Exchange.objects.exists() and Country.objects.exists()


def reader(username):
    if username is None:
        return AnonymousUser()
    # As a new request sees the user: roles not cached on an object the set-up used.
    return get_user_model().objects.get(username=username)


def listed(response) -> list[dict]:
    body = response.json()
    if "results" in body:
        assert body["next"] is None, "a list longer than the test's page"
        return body["results"]
    return body["rows"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "username",
    ["lonely", "donor", None, "ttl", "fm"],
    ids=["leads-nothing", "donor", "anonymous", "leader", "fund-manager"],
)
def test_what_each_list_gives_is_within_its_declared_scope(portfolio, client_for, username):
    user = reader(username)
    client = client_for(None if username is None else user)
    read = 0
    for name, cls, arguments in list_routes():
        unknown = set(arguments) - set(URL_ARGUMENTS)
        assert not unknown, f"{name}: say where the test finds ids for {unknown}"
        parents = [{}]
        for argument in arguments:
            ids = URL_ARGUMENTS[argument].objects.values_list("pk", flat=True)
            parents = [{**kwargs, argument: pk} for kwargs in parents for pk in ids]
        assert is_scoped(cls), f"{name}: {cls.__qualname__} lists rows without a scope"
        if cls in AGGREGATES:
            response = client.get(reverse(name))
            if response.status_code == 200:
                assert AGGREGATES[cls](response.json(), cls.scope(user)), (name, username)
                read += 1
            else:
                assert response.status_code in (401, 403), (name, response)
            continue
        item_key, scope_field = ROW_KEYS.get(cls, ("id", "pk"))
        in_scope = set(cls.scope(user).values_list(scope_field, flat=True))
        for kwargs in parents:
            response = client.get(reverse(name, kwargs=kwargs), {"page_size": 500})
            if response.status_code != 200:
                assert response.status_code in (401, 403, 404), (name, kwargs, response)
                continue
            rows = {item[item_key] for item in listed(response)}
            assert rows <= in_scope, f"{name} {kwargs} gives {username} rows beyond its scope"
            read += len(rows)
    assert read > 0, "nothing listed: the check would pass whatever the scopes"
