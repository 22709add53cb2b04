"""Collaboration's tests: window managers and a window, e-mail kept in memory, a known
site address."""

import pytest

from partners.roles import Role
from tests.factories import fund_with
from tests.windows.factories import make_window


@pytest.fixture(autouse=True)
def _collaboration_settings(settings):
    settings.SITE_URL = "https://seetf.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture
def funded(db):
    fund_with("5000000.00")


@pytest.fixture
def window_manager(make_user):
    return make_user("wm", Role.WINDOW_MANAGER)


@pytest.fixture
def window(funded, fund_manager, window_manager):
    """A window whose approver is ``window_manager`` (up to 150,000 USD)."""
    return make_window(
        fund_manager,
        code="LCR-W",
        region="LCR",
        allocate="300000.00",
        approvers=[(window_manager, "150000.00")],
    )


def told(kind=None):
    """{(username, kind)} of every notification made."""
    from collaboration.models import Notification

    rows = Notification.objects.select_related("user")
    if kind:
        rows = rows.filter(kind=kind)
    return sorted((n.user.username, n.kind) for n in rows)


@pytest.fixture
def person(user_for, request):
    """person(who): the user of a role name (``window_manager``: this package's), None
    for anonymous."""

    def get(who):
        if who == "window_manager":
            return request.getfixturevalue("window_manager")
        return user_for(who)

    return get
