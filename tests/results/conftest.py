"""Shared set-up for the results tests: a funded fund, a closed grant, and the role names
the readers' tests walk (users and clients: tests/conftest.py)."""

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
