import os

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from grants.models import CapacityOutcome
from partners.reference_data import ensure_reference_data
from partners.roles import Role
from partners.services import user_create_or_update
from results.models import Outcome
from tests.factories import PartnerFactory

REQUIRE_POSTGRES = os.environ.get("SEETF_REQUIRE_POSTGRES") == "1"


def pytest_collection_modifyitems(config, items):
    """`postgres` tests need PostgreSQL. On SQLite they are skipped with the reason shown
    in the summary; in CI (SEETF_REQUIRE_POSTGRES=1) running them elsewhere is an error."""
    if connection.vendor == "postgresql":
        return
    for item in items:
        if "postgres" in item.keywords:
            if REQUIRE_POSTGRES:
                raise pytest.UsageError(
                    "SEETF_REQUIRE_POSTGRES=1 but DATABASE_URL is not PostgreSQL."
                )
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://...")
            )


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: the data version (seetf.common.datacache)
    starts again when a test database is flushed, so an entry of an earlier test could
    otherwise match a later one's version."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Transactional tests empty every table when they end (countries, sectors, role
    groups, the fund row and the capacity outcomes that the migrations loaded included):
    put them back first."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        ensure_reference_data()
        for code, name in CapacityOutcome.choices:  # results.0003 seeds them
            Outcome.objects.get_or_create(code=code, defaults={"name": name})


@pytest.fixture
def make_user(db):
    def make(username, *roles, partner=None, password="a-long-test-password"):
        return user_create_or_update(
            username=username,
            roles=list(roles),
            partner=partner,
            password=password,
            email=f"{username}@example.org",
        )

    return make


@pytest.fixture
def fund_manager(make_user):
    return make_user("fm", Role.FUND_MANAGER)


@pytest.fixture
def fund_manager2(make_user):
    return make_user("fm2", Role.FUND_MANAGER)


@pytest.fixture
def leader(make_user):
    return make_user("ttl", Role.TASK_TEAM_LEADER)


@pytest.fixture
def leader2(make_user):
    return make_user("ttl2", Role.TASK_TEAM_LEADER)


@pytest.fixture
def donor_partner(db):
    return PartnerFactory(code="DNKX", name="Denmark (test)")


@pytest.fixture
def donor(make_user, donor_partner):
    return make_user("donor", Role.DONOR, partner=donor_partner)


@pytest.fixture
def no_role_user(django_user_model):
    return django_user_model.objects.create_user("nobody", password="a-long-test-password")


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def client_for():
    """An API client authenticated as the given user (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
