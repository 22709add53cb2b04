import os

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from grants.models import CapacityOutcome
from partners.reference_data import ensure_reference_data
from partners.roles import Role
from partners.services import user_create_or_update
from results.models import Outcome
from seetf.common import appendonly
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


@pytest.fixture(autouse=True, scope="session")
def _flush_past_append_only_triggers():
    """Django's flush after a transactional test empties SQLite tables with DELETE, which
    the append-only tables' triggers refuse (seetf.common.appendonly): the flush drops
    them first and puts them back after, in its own transaction. (PostgreSQL's flush is
    a TRUNCATE, which row triggers do not see.)"""
    if connection.vendor != "sqlite":
        yield
        return
    operations = type(connection.ops)
    original = operations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if not statements:
            return statements
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [f"{appendonly.PREFIX}%"],
            )
            triggers = cursor.fetchall()
        drops = [f"DROP TRIGGER {self.quote_name(name)}" for name, _ in triggers]
        return [*drops, *statements, *(sql for _, sql in triggers)]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(operations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True, scope="session")
def _compiled_catalogues():
    """The translation catalogues compiled as `make install` does (locale/*.po to .mo),
    so that a test run sees the committed translations, whatever was installed before."""
    from seetf.common.catalogues import compile_all

    compile_all()


@pytest.fixture(autouse=True)
def _english_again():
    """Each test starts, and ends, in the site's default language: a request's language
    (LocaleMiddleware activates it in the thread and leaves it) does not leak into the
    next test's strings."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


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


# --- Users and clients ------------------------------------------------------------------
#
# One user per role, each a fixture; ``user_for``, ``client_for``, ``fresh_client`` and
# ``web`` take a user, None (anonymous) or a role name from USERS, so a test parametrized
# by role and one that holds its users both use the same four.

# The role names a test may ask for, and the fixture of the user each one names.
USERS = {
    "fund_manager": "fund_manager",
    "leader": "leader",  # a task team leader: the leader of the grants a test makes
    "task_team_leader": "leader",  # the same user, by API.md's name for the role
    "other_leader": "leader2",  # a task team leader who does not lead the test's grants
    "fm_leader": "fm_leader",  # a fund manager who also leads grants (both roles)
    "donor": "donor",  # a donor user of ``donor_partner``
    "no_role": "no_role_user",  # signed in, no role
    "superuser": "superuser",
}
ANONYMOUS = "anonymous"


def read_afresh(user):
    """The user as a new request sees them: read again from the database, so nothing
    cached on the test's object (the roles ``partners.roles`` keeps on it) saves a query,
    and a thread gets an object of its own. None stays None."""
    return None if user is None else get_user_model().objects.get(pk=user.pk)


def api_client(user=None, **client_options) -> APIClient:
    """An API client authenticated as ``user`` (None: anonymous). A plain function for
    what a fixture cannot reach: threads, module-scoped set-up."""
    client = APIClient(**client_options)
    if user is not None:
        client.force_authenticate(user)
    return client


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
def fm_leader(make_user):
    return make_user("fmttl", Role.FUND_MANAGER, Role.TASK_TEAM_LEADER)


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
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(
        "root", "root@example.org", "a-long-test-password"
    )


@pytest.fixture
def user_for(request):
    """user_for(who): the user of a role name in USERS (the same object as its fixture),
    None for "anonymous"; a user or None is returned as it is."""

    def get(who):
        if not isinstance(who, str):
            return who
        if who == ANONYMOUS:
            return None
        return request.getfixturevalue(USERS[who])

    return get


@pytest.fixture
def client_for(user_for):
    """client_for(who, **options): an API client authenticated as the user (a user, None
    for anonymous, or a role name), the user object as the test holds it."""
    return lambda who, **options: api_client(user_for(who), **options)


@pytest.fixture
def fresh_client(user_for):
    """fresh_client(who, **options): client_for, with the user read afresh as a real
    request's would be (see read_afresh): for counting a request's queries."""
    return lambda who, **options: api_client(read_afresh(user_for(who)), **options)


@pytest.fixture
def anon():
    """An API client without credentials (client_for("anonymous"))."""
    return api_client()


def second_factor_device(user):
    """The user's authenticator (a confirmed TOTP device), made if they have none."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    # A wide tolerance: tests sign in many times within one 30-second step, and each code
    # is accepted once (tests/accounts/codes.py gives the next step's).
    return device or TOTPDevice.objects.create(
        user=user, name="authenticator", confirmed=True, tolerance=50
    )


def second_factor_given(client: Client, user) -> None:
    """Mark the client's session as having given its second factor, as the code page does
    (accounts.views): for users whose roles require one (fund managers, superusers)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.policy import SESSION_HAS_DEVICE

    session = client.session
    session[DEVICE_ID_SESSION_KEY] = second_factor_device(user).persistent_id
    session[SESSION_HAS_DEVICE] = True
    session.save()


@pytest.fixture
def admin_client(admin_user):
    """pytest-django's admin client, its superuser's second factor given (superusers
    sign in with two factors: accounts.policy)."""
    client = Client()
    client.force_login(admin_user)
    second_factor_given(client, admin_user)
    return client


@pytest.fixture
def web(user_for):
    """web(who=None, **options): a browser-like test client (django.test.Client) logged
    in as the user (a user, None for anonymous, or a role name); a user whose roles
    require a second factor has given it (see second_factor_given)."""
    from accounts.policy import two_factor_required

    def make(who=None, **options):
        client = Client(**options)
        user = user_for(who)
        if user is not None:
            client.force_login(user)
            if two_factor_required(user):
                second_factor_given(client, user)
        return client

    return make
