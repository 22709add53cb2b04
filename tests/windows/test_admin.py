"""The admin edits funding windows and their approvers through the window services:
the admin's user is the actor, every change is audited, a refusal is shown on the form
and writes nothing; anyone but a fund manager only reads."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from audit.models import AuditEntry
from partners.models import Window, WindowApprover

pytestmark = pytest.mark.django_db

WINDOWS = "/admin/partners/window/"
APPROVERS = "/admin/partners/windowapprover/"


@pytest.fixture
def admin_manager(superuser):
    """A superuser: a fund manager to the window services."""
    return superuser


@pytest.fixture
def staff_window_manager(window_manager):
    """Staff with the admin's permissions on windows but not a fund manager."""
    window_manager.is_staff = True
    window_manager.save()
    window_manager.user_permissions.set(
        Permission.objects.filter(content_type__app_label="partners", codename__endswith="window")
    )
    return window_manager


def _window_post(**overrides):
    data = {
        "code": "ADM-W",
        "name": "From the admin",
        "kind": "thematic",
        "region": "",
        "sectors": ["16010"],
        "max_grant_usd": "50000.00",
        "opens_on": "2026-01-01",
        "closes_on": "2027-12-31",
    }
    data.update(overrides)
    # The read-only inlines' management forms, as the page sends them.
    for prefix in ("approver_limits", "movements"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def _audit(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_adding_and_changing_a_window_goes_through_the_services(web, admin_manager):
    client = web(admin_manager)
    assert client.get(f"{WINDOWS}add/").status_code == 200
    response = client.post(f"{WINDOWS}add/", _window_post())
    assert response.status_code == 302, response.content.decode()[:3000]
    window = Window.objects.get(code="ADM-W")
    assert [s.code for s in window.sectors.all()] == ["16010"]
    (created,) = _audit("window.create")
    assert created.actor == admin_manager and created.object_id == str(window.pk)

    response = client.post(
        f"{WINDOWS}{window.pk}/change/", _window_post(name="Renamed", max_grant_usd="60000.00")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    window.refresh_from_db()
    assert (window.name, window.max_grant_usd) == ("Renamed", Decimal("60000.00"))
    (updated,) = _audit("window.update")
    assert updated.actor == admin_manager
    assert updated.changes["name"] == ["From the admin", "Renamed"]


def test_a_refused_window_is_shown_on_the_form_and_nothing_is_written(web, admin_manager, window):
    client = web(admin_manager)
    created = len(_audit("window.create"))
    response = client.post(
        f"{WINDOWS}add/", _window_post(opens_on="2027-01-01", closes_on="2026-01-01")
    )
    assert response.status_code == 200
    assert "closes_on" in response.context["adminform"].form.errors
    assert not Window.objects.filter(code="ADM-W").exists()
    assert len(_audit("window.create")) == created

    before = AuditEntry.objects.count()
    response = client.post(
        f"{WINDOWS}{window.pk}/change/",
        _window_post(code=window.code, name="Never", closes_on="2019-01-01"),
    )
    assert response.status_code == 200
    assert "closes_on" in response.context["adminform"].form.errors
    window.refresh_from_db()
    assert window.name == "A window"
    assert AuditEntry.objects.count() == before


def test_naming_changing_and_removing_an_approver(web, admin_manager, window, window_manager2):
    client = web(admin_manager)
    audited = len(_audit("window.approvers"))
    response = client.post(
        f"{APPROVERS}add/",
        {"window": window.pk, "user": window_manager2.pk, "limit_usd": "40000.00"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    approver = WindowApprover.objects.get(window=window, user=window_manager2)
    assert approver.limit_usd == Decimal("40000.00")
    (named,) = _audit("window.approvers")[audited:]
    assert named.actor == admin_manager
    assert named.changes["approvers"][1][str(window_manager2.pk)] == "40000.00"

    response = client.post(f"{APPROVERS}{approver.pk}/change/", {"limit_usd": "45000.00"})
    assert response.status_code == 302, response.content.decode()[:3000]
    approver.refresh_from_db()
    assert approver.limit_usd == Decimal("45000.00")

    response = client.post(f"{APPROVERS}{approver.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not WindowApprover.objects.filter(user=window_manager2).exists()
    assert len(_audit("window.approvers")) == audited + 3


def test_a_refused_approver_is_shown_on_the_form_and_nothing_is_written(
    web, admin_manager, window, window_manager, leader
):
    client = web(admin_manager)
    before = list(WindowApprover.objects.values_list("user_id", "limit_usd"))
    audited = len(_audit("window.approvers"))
    # Twice in one window, and a limit of nothing.
    response = client.post(
        f"{APPROVERS}add/", {"window": window.pk, "user": window_manager.pk, "limit_usd": "1.00"}
    )
    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    (approver,) = WindowApprover.objects.all()
    response = client.post(f"{APPROVERS}{approver.pk}/change/", {"limit_usd": "0.00"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert list(WindowApprover.objects.values_list("user_id", "limit_usd")) == before
    assert len(_audit("window.approvers")) == audited


def test_only_fund_managers_edit_windows_in_the_admin(web, staff_window_manager, window):
    client = web(staff_window_manager)
    assert client.get(f"{WINDOWS}{window.pk}/change/").status_code == 200
    assert client.post(f"{WINDOWS}add/", _window_post()).status_code == 403
    assert (
        client.post(
            f"{WINDOWS}{window.pk}/change/", _window_post(code=window.code, name="No")
        ).status_code
        == 403
    )
    window.refresh_from_db()
    assert window.name == "A window"
    assert not Window.objects.filter(code="ADM-W").exists()


def test_a_window_added_from_a_popup_stays(web, admin_manager):
    """The admin's popup answers a successful save with a page, not a redirect: the
    window is kept (only a refusal undoes the request)."""
    response = web(admin_manager).post(f"{WINDOWS}add/?_popup=1", {**_window_post(), "_popup": "1"})
    assert response.status_code == 200
    assert "popup_response_data" in response.context_data
    assert Window.objects.filter(code="ADM-W").exists()
