"""Shared set-up for the web pages' tests: a logged-in test client per user, and a fund
with money in it."""

import pytest
from django.test import Client

from tests.factories import fund_with


@pytest.fixture(autouse=True)
def _no_static_scan(settings):
    """WhiteNoise with USE_FINDERS walks every static folder for each new client (slow);
    the test that serves the stylesheet turns it back on."""
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture
def web():
    """A browser-like test client logged in as the user (None: anonymous)."""

    def make(user=None):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def funded(db):
    fund_with("5000000.00")
