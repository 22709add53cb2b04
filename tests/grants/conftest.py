"""Shared set-up for the grants tests: the role names the workflow tables walk (their users
and clients: tests/conftest.py), a funded fund, module-scoped worlds for the big matrices,
and a snapshot of what a refused request must leave unchanged."""

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import transaction

from grants.models import Disbursement, Exchange, Grant, GrantHistory, GrantStatus
from partners.models import Fund
from partners.roles import Role
from partners.services import user_create_or_update
from results import services as results_services
from results.models import CompletionReport
from tests.conftest import api_client
from tests.factories import PartnerFactory, fund_with
from tests.grants.factories import REPORT, make_grant

# The roles a request can come from, as the workflow tests name them.
#   leader        the grant's own task team leader
#   other_leader  a task team leader who does not lead the grant
#   fund_manager  a fund manager
#   fm_leader     a fund manager who also leads the grant (both roles)
#   donor         a donor user (of a partner)
#   anonymous     no credentials
ROLES = ["leader", "other_leader", "fund_manager", "fm_leader", "donor", "anonymous"]

# Which grants each role sees, from API.md ("What each role may do"), not from the code
# under test: drafts only by their leader; fund managers every grant once submitted; other
# leaders and donors a grant once approved, and after (completed, closed, or cancelled,
# which only an approved grant can be).
GRANT_VISIBLE = {
    "leader": set(GrantStatus.values),
    "fm_leader": set(GrantStatus.values),
    "fund_manager": set(GrantStatus.values) - {GrantStatus.DRAFT},
    "other_leader": {
        GrantStatus.APPROVED,
        GrantStatus.COMPLETED,
        GrantStatus.CLOSED,
        GrantStatus.CANCELLED,
    },
}
GRANT_VISIBLE["donor"] = GRANT_VISIBLE["other_leader"]

FUND_USD = Decimal("5000000.00")


@pytest.fixture(autouse=True)
def _no_static_scan(settings):
    """Every new test client loads the middleware, and WhiteNoise with USE_FINDERS walks
    every static folder (~80 ms) each time; no grants test serves a static file."""
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture
def funded(db):
    """A fund with money to approve every grant a test makes."""
    fund_with(str(FUND_USD))


def grant_state(grant_id: int) -> dict:
    """Everything a grant request may change, comparable before and after."""
    grant = Grant.objects.filter(pk=grant_id).values().get()
    grant.pop("updated_at")
    report = CompletionReport.objects.filter(grant_id=grant_id).values().first()
    if report:
        report.pop("updated_at")
    fund = Fund.objects.get(pk=1)
    return {
        "grant": grant,
        "recipients": sorted(
            Grant.recipient_countries.through.objects.filter(grant_id=grant_id).values_list(
                "country_id", flat=True
            )
        ),
        "providers": sorted(
            Grant.provider_countries.through.objects.filter(grant_id=grant_id).values_list(
                "country_id", flat=True
            )
        ),
        "partners": sorted(
            Grant.facilitating_partners.through.objects.filter(grant_id=grant_id).values_list(
                "partner_id", flat=True
            )
        ),
        "history": list(
            GrantHistory.objects.filter(grant_id=grant_id)
            .order_by("id")
            .values_list("id", flat=True)
        ),
        "report": report,
        "exchanges": Exchange.objects.filter(grant_id=grant_id).count(),
        "disbursements": Disbursement.objects.filter(grant_id=grant_id).count(),
        "fund": (fund.received_usd, fund.committed_usd, fund.disbursed_usd),
        "grants": Grant.objects.count(),
    }


# --- Data shared by the tests of a module --------------------------------------------
#
# The large matrices read and act on the same few grants hundreds of times. Their data is
# made once per module, inside a transaction opened here and rolled back when the module
# ends. Each test's own atomic block (pytest-django's `db`) nests in it as a savepoint,
# so every test starts from the same data and leaves no trace. Modules using it must not
# have transaction=True tests (the outer transaction would break them), and use the
# users it returns rather than the function-scoped user fixtures.


@contextmanager
def module_transaction(django_db_blocker):
    """Open a transaction for a module-scoped fixture's data; roll it back at the end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def make_role_users(prefix: str) -> dict:
    """A user of each role in ROLES (None for anonymous)."""

    def user(name, *roles, partner=None):
        return user_create_or_update(
            username=f"{prefix}-{name}", roles=list(roles), partner=partner, password="x-pass-1"
        )

    return {
        "leader": user("ttl", Role.TASK_TEAM_LEADER),
        "other_leader": user("ttl2", Role.TASK_TEAM_LEADER),
        "fund_manager": user("fm", Role.FUND_MANAGER),
        "fm_leader": user("fmttl", Role.FUND_MANAGER, Role.TASK_TEAM_LEADER),
        "donor": user("donor", Role.DONOR, partner=PartnerFactory(code=f"{prefix}-DNR".upper())),
        "anonymous": None,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Users of every role, a fund, and for each leader (``leader`` and the fund manager
    who leads grants, ``fm_leader``) a grant at every status, plus an approved grant with
    its report written and a completed one with its report accepted."""
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            users = make_role_users("w")
            fund_with("5000000.00")
            manager = users["fund_manager"]
            grants = {}
            for who in ("leader", "fm_leader"):
                owner = users[who]
                for status in GrantStatus.values:
                    grants[who, status, ""] = make_grant(owner, status, manager=manager).pk
                written = make_grant(owner, GrantStatus.APPROVED, manager=manager)
                results_services.completion_report_save(grant=written, user=owner, **REPORT)
                grants[who, GrantStatus.APPROVED, "report written"] = written.pk
                accepted = make_grant(owner, GrantStatus.COMPLETED, manager=manager)
                results_services.completion_report_accept(grant=accepted, user=manager)
                grants[who, GrantStatus.COMPLETED, "report accepted"] = accepted.pk
        yield {"users": users, "grants": grants}


def clients_for(users: dict) -> dict:
    """One client per role: a client loads the middleware once, on its first request."""
    return {role: api_client(user) for role, user in users.items()}


@pytest.fixture(scope="module")
def clients(world):
    return clients_for(world["users"])
