"""Shared set-up for the results tests: a funded fund, a closed grant, and API clients
for every role a request can come from."""

import pytest

from tests.factories import fund_with

from .factories import finished_grant

# The roles a request can come from, as these tests name them.
READERS = ["anonymous", "donor", "leader", "no_role"]


@pytest.fixture
def funded(db):
    fund_with("50000000.00")


@pytest.fixture
def closed_grant(funded, leader, fund_manager):
    return finished_grant(leader, fund_manager)


@pytest.fixture
def user_for(request):
    """The user of a role name (None for anonymous)."""
    fixtures = {
        "fund_manager": "fund_manager",
        "leader": "leader",
        "donor": "donor",
        "no_role": "no_role_user",
    }

    def get(role):
        if role == "anonymous":
            return None
        return request.getfixturevalue(fixtures[role])

    return get


@pytest.fixture
def api_as(client_for, user_for):
    """An API client for a role name."""
    return lambda role: client_for(user_for(role))
