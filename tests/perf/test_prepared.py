"""The statements compiled once (seetf.common.prepared) give what their querysets give:
the API token's user with their preference and roles, and the fund summary's ledger;
and the knowledge hub's filter backend (seetf.common.filters.NamedFiltersBackend)
answers as django-filter's own does."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.authentication import TOKENS, _tokens
from accounts.models import UserPreference
from grants import selectors
from partners.roles import Role, user_roles
from results.api.stories import ResultsStoryViewSet
from results.filters import ResultsStoryFilter
from seetf.common.filters import _with_filters

pytestmark = pytest.mark.django_db
POSTGRES = connection.vendor == "postgresql"


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.mark.parametrize("with_preference", [False, True])
def test_token_rows_are_the_querysets(make_user, donor, with_preference):
    user = make_user("tl-fm", Role.TASK_TEAM_LEADER, Role.FUND_MANAGER)
    if with_preference:
        UserPreference.objects.create(user=user, language="fr")
    key = Token.objects.create(user=user).key
    (prepared,) = TOKENS.rows(key=key)
    (plain,) = list(_tokens(key))
    assert _fields(prepared) == _fields(plain)
    assert _fields(prepared.user) == _fields(plain.user)
    if with_preference:
        assert _fields(prepared.user.preference) == _fields(plain.user.preference)
    else:
        with CaptureQueriesContext(connection) as queries:
            with pytest.raises(UserPreference.DoesNotExist):
                prepared.user.preference  # noqa: B018
        assert len(queries) == 0  # read with the token: known to be absent
    if POSTGRES:
        assert sorted(prepared.seetf_role_names) == ["fund_manager", "task_team_leader"]
    assert TOKENS.rows(key=key + "x") == []


def test_a_token_request_reads_user_and_roles_in_one_query(donor):
    user = donor
    key = Token.objects.create(user=user).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/fund/").status_code == 200
    # The token with its user, preference and roles; the ledger. Elsewhere the roles
    # are one more query.
    assert len(queries) == (2 if POSTGRES else 3)


def test_roles_read_with_the_token_are_user_roles(make_user):
    user = make_user("both", Role.TASK_TEAM_LEADER, Role.WINDOW_MANAGER)
    key = Token.objects.create(user=user).key
    (token,) = TOKENS.rows(key=key)
    if POSTGRES:
        assert frozenset(token.seetf_role_names) == user_roles(type(user).objects.get(pk=user.pk))


def test_fund_ledger_is_the_querysets(fund_manager):
    from grants.selectors import _FUND_LEDGER, _fund_ledger

    assert _FUND_LEDGER.rows() == list(_fund_ledger())
    summary = selectors.fund_summary()
    assert summary["available_usd"] == (
        summary["received_usd"] - summary["committed_usd"] - summary["allocated_usd"]
    )


def test_filters_named_are_kept_with_required_ones():
    only_search = _with_filters(ResultsStoryFilter, frozenset({"search"}))
    assert list(only_search.base_filters) == ["search"]
    assert _with_filters(ResultsStoryFilter, frozenset(ResultsStoryFilter.base_filters)) is (
        ResultsStoryFilter
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?search=water",
        "?search=water&published=true",
        "?published=false",
        "?published=maybe",
        "?sector=nope",
        "?grant=1.5",
        "?search=" + "x" * 300,
        "?outcome=raised_awareness&region=nope",
        "?unknown=1&search=water",
    ],
)
def test_named_filters_answer_as_django_filter(fund_manager, query):
    client = APIClient()
    client.force_authenticate(fund_manager)
    url = "/api/v1/results-stories/" + query
    named = client.get(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ResultsStoryViewSet, "filter_backends", [DjangoFilterBackend])
        plain = client.get(url)
    assert (named.status_code, named.content) == (plain.status_code, plain.content)


def test_a_value_compared_with_integer_columns_in_several_places():
    from django.contrib.auth import get_user_model

    from seetf.common.prepared import Prepared

    users = get_user_model().objects
    first = users.create(username="p-one")
    users.create(username="p-two")
    both = Prepared(
        lambda pk: users.filter(pk=pk).filter(id__in=users.filter(pk=pk).values("pk")),
        "pk",
        integers=("pk",),
    )
    assert [u.pk for u in both.rows(pk=first.pk)] == [first.pk]
    assert both.rows(pk=first.pk + 1000) == []


def test_the_grant_detail_and_page_read_what_the_scope_gives_every_shape_of_user(
    portfolio, role_users, fresh_client
):
    """The statements compiled once per shape of user (the API detail, the grant page's
    grant) find the grants ``grants_visible_to`` gives, for every role, and the detail's
    row (its relations read with it on PostgreSQL) is the plain read's."""
    from grants.api.serializers import GRANT_DETAIL_ROWS
    from grants.api.views import _DETAIL
    from grants.models import Grant
    from grants.views import _PAGE_GRANT

    portfolio(40)
    users = role_users()
    window_grant = Grant.objects.filter(window__isnull=False).order_by("pk").first()
    users["window_manager"] = window_grant.window.approvers.get()
    accounts = type(users["fund_manager"]).objects
    users["superuser"] = accounts.create(username="p-super", is_superuser=True)
    users["nobody"] = accounts.create(username="p-nobody")
    ids = list(Grant.objects.order_by("pk").values_list("pk", flat=True))
    for who, user in users.items():
        user = type(user).objects.get(pk=user.pk)
        visible = set(selectors.grants_visible_to(user).values_list("pk", flat=True))
        assert who == "nobody" or visible, who
        shape = selectors.user_shape(user)
        for pk in ids:
            rows = _DETAIL.rows((GRANT_DETAIL_ROWS, shape), pk=pk, user=user.pk)
            page = _PAGE_GRANT.rows(shape, pk=pk, user=user.pk)
            assert bool(rows) == bool(page) == (pk in visible), (who, pk)
            if rows:
                plain = GRANT_DETAIL_ROWS.read(Grant.objects.filter(pk=pk))
                assert GRANT_DETAIL_ROWS.represent(
                    GRANT_DETAIL_ROWS.complete(rows)
                ) == GRANT_DETAIL_ROWS.represent(plain)
    client = fresh_client(users["fund_manager"])
    assert client.get(f"/api/v1/grants/{2**63}/").status_code == 404
    assert client.get(f"/api/v1/grants/{max(ids) + 1}/").status_code == 404
