"""Funding windows' tests: window managers, a funded fund and a window of it."""

import pytest

from partners.roles import Role
from tests.factories import fund_with
from tests.windows.factories import make_window


@pytest.fixture(autouse=True)
def _no_static_scan(settings):
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture
def window_manager(make_user):
    return make_user("wm", Role.WINDOW_MANAGER)


@pytest.fixture
def window_manager2(make_user):
    return make_user("wm2", Role.WINDOW_MANAGER)


@pytest.fixture
def funded(db):
    fund_with("1000000.00")


@pytest.fixture
def window(funded, fund_manager, window_manager):
    """The LCR window: 300,000 USD allocated, grants of at most 200,000, approved by
    ``window_manager`` up to 150,000."""
    return make_window(
        fund_manager,
        code="LCR-W",
        region="LCR",
        allocate="300000.00",
        approvers=[(window_manager, "150000.00")],
    )
