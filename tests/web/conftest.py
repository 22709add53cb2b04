"""Shared set-up for the web pages' tests: no static-file scan, and a fund with money in it
(the logged-in test client, ``web``: tests/conftest.py)."""

import pytest

from tests.factories import fund_with


@pytest.fixture(autouse=True)
def _no_static_scan(settings):
    """WhiteNoise with USE_FINDERS walks every static folder for each new client (slow);
    the test that serves the stylesheet turns it back on."""
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture
def funded(db):
    fund_with("5000000.00")
