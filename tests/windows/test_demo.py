"""`create_demo_users` gives the demo a window manager and a window they approve in."""

import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEntry
from partners.models import Fund, Window, WindowApprover
from partners.roles import Role, user_roles

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def demo(settings):
    settings.SEETF_DEMO = True
    run("load_review_2011")


def test_the_demo_has_a_window_manager_approving_in_a_funded_window(demo, web):
    available = Fund.objects.get().available_usd
    out = run("create_demo_users")
    user = get_user_model().objects.get(username="demo_window")
    assert user_roles(user) == {Role.WINDOW_MANAGER}
    assert "window_manager    demo_window   password: " in out
    window = Window.objects.get(code="DEMO-SG")
    (approver,) = WindowApprover.objects.filter(window=window)
    assert (approver.user, approver.limit_usd) == (user, Decimal("100000.00"))
    assert window.allocated_usd == Decimal("500000.00")
    assert Fund.objects.get().available_usd == available - Decimal("500000.00")
    manager = get_user_model().objects.get(username="demo_manager")
    assert set(
        AuditEntry.objects.filter(actor=manager, object_id=str(window.pk)).values_list(
            "action", flat=True
        )
    ) == {"window.create", "window.approvers", "window.allocation"}
    assert "demo_window approves grants of the window DEMO-SG up to 100,000.00 USD" in out
    # The window manager sees the window and their limit on its page.
    page = web(user).get(f"/windows/{window.pk}/")
    assert page.status_code == 200
    assert b"DEMO-SG" in page.content and b"100,000.00" in page.content


def test_every_start_keeps_the_one_window_and_its_money(demo):
    run("create_demo_users")
    run("create_demo_users")
    window = Window.objects.get(code="DEMO-SG")
    assert window.allocated_usd == Decimal("500000.00")
    assert window.movements.count() == 1
    assert list(window.approver_limits.values_list("user__username", "limit_usd")) == [
        ("demo_window", Decimal("100000.00"))
    ]


def test_demo_users_only_in_demo_mode(settings):
    settings.SEETF_DEMO = False
    with pytest.raises(CommandError, match="demo mode only"):
        run("create_demo_users")
    assert not Window.objects.exists()
