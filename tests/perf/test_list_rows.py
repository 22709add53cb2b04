"""The funding windows' and the notifications' lists give exactly what their serializers
gave: rows (``partners.api.windows.WINDOW_ROWS``, ``collaboration.api.serializers.
NOTIFICATION_ROWS``) against model instances walked by ``WindowSerializer`` and
``NotificationSerializer``.

Over a generated portfolio and rows written to cover what it lacks: windows for no
region and for one, with no sectors and several, no approvers and several (usernames
whose order in the database's collation is not the one of their limits), more windows
than a page; notifications read and unread, of several kinds, with and without a grant,
made at the same instant (ties by id); read by every kind of reader, with filters,
orderings and page after page, and in a time zone other than UTC. Each response is
compared, byte for byte, with the one the committed read path (DRF's list: the
``get_queryset`` with its prefetches, the serializer) gives for the same request.
"""

from datetime import date

import pytest
from django.utils import timezone
from rest_framework import mixins

from collaboration.api.views import NotificationViewSet
from collaboration.models import Notification, NotificationKind
from collaboration.services import notifications_mark_read, notify
from grants.models import Grant
from partners.api.windows import WindowViewSet
from partners.models import Region, Window, WindowKind
from partners.roles import Role
from partners.services import user_create_or_update
from tests.conftest import api_client, read_afresh
from tests.perf.fastpaths import Committed
from tests.windows.factories import make_window

pytestmark = pytest.mark.django_db

WINDOWS = "/api/v1/windows/"
NOTIFICATIONS = "/api/v1/notifications/"


# The read path as it was committed: DRF's own list.
COMMITTED = Committed(
    (WindowViewSet, "list", mixins.ListModelMixin.list),
    (NotificationViewSet, "list", mixins.ListModelMixin.list),
)
assert_same, assert_same_pages = COMMITTED.same, COMMITTED.same_pages


def _approver(username):
    return user_create_or_update(
        username=username, roles=[Role.WINDOW_MANAGER], email=f"{username}@example.org"
    )


@pytest.fixture
def users(portfolio, role_users):
    portfolio(60)
    return role_users()


@pytest.fixture
def windows(users):
    """Windows that vary what the generated ones do not."""
    manager = users["fund_manager"]
    # Capitals, dots, dashes and digits: an order by username that a text sort in one
    # collation and another might give differently; limits in no order of theirs.
    approvers = [_approver(name) for name in ("Zed", "amy", "amy.b", "amy-c", "amy1", "b_o")]
    made = [
        make_window(
            manager,
            code="WR-1",
            name="Regional, every approver",
            region=Region.AFR,
            sectors=["31120", "14020", "16010"],
            approvers=[(a, 1000 * (i + 1) + 0.5) for i, a in enumerate(reversed(approvers))],
            allocate="25000.10",
        ),
        make_window(manager, code="WT-1", name="Thematic, nothing", kind=WindowKind.THEMATIC),
        make_window(
            manager,
            code="WS-1",
            name="Small grants",
            kind=WindowKind.SMALL_GRANTS,
            approvers=[(approvers[1], "99999999.99")],
            allocate="10",
            closes_on=date(2030, 6, 30),
        ),
    ]
    for i in range(7):
        made.append(
            make_window(
                manager,
                code=f"WX-{i}",
                name="Same name" if i % 2 else f"Window {i}",
                region=[Region.SAR, ""][i % 2],
                approvers=[(approvers[i % 6], 500 + i)],
                opens_on=date(2021 + i % 3, 1, 1),
            )
        )
    return made


def test_the_window_list_gives_what_the_serializer_gives(users, windows):
    queries = [
        "",
        "?ordering=name",
        "?ordering=-closes_on",
        "?ordering=opens_on",
        "?ordering=-code",
        "?ordering=nothing",
        "?kind=thematic",  # no filters: ignored, alike
    ]
    for user in users.values():
        client = api_client(read_afresh(user))
        for query in queries:
            separator = "&" if query else "?"
            assert_same_pages(client, f"{WINDOWS}{query}{separator}page_size=3")
        assert_same(client, f"{WINDOWS}?page=99")  # a 404, alike
        assert_same(client, f"{WINDOWS}?page_size=0")  # a 400, alike
        rows = assert_same_pages(client, WINDOWS)
        # A first page one row short of the list, just the list, one row longer.
        for size in (len(rows) - 1, len(rows), len(rows) + 1):
            assert_same_pages(client, f"{WINDOWS}?page_size={size}")
    assert {row["region"] for row in rows} >= {None, "AFR", "SAR"}
    assert any(not row["sectors"] and not row["approvers"] for row in rows)
    every = next(row for row in rows if row["code"] == "WR-1")
    assert len(every["approvers"]) == 6 and every["available_usd"] == "25000.10"
    assert every["approvers"][0] == {"user": "Zed", "limit_usd": "6000.50"}
    assert Window.objects.count() == len(rows) > 10
    # Not signed in: refused, alike.
    assert_same(api_client(), WINDOWS)


@pytest.fixture
def inbox(users):
    """The leader's notifications, and more of every kind, read and unread."""
    leader = users["task_team_leader"]
    grant = Grant.objects.order_by("pk").first()
    for i, kind in enumerate(NotificationKind.values * 3):
        notify(
            users=[leader, users["fund_manager"]],
            kind=kind,
            grant=grant if i % 3 else None,
            text=lambda i=i: f"Notification {i}: «ça» & <b>co</b>",
        )
    mine = Notification.objects.filter(user=leader).order_by("pk")
    # Made at the same instant: ordered by id, on every page.
    mine.filter(pk__in=list(mine.values_list("pk", flat=True)[:6])).update(
        created_at=timezone.now()
    )
    notifications_mark_read(user=leader, ids=list(mine.values_list("pk", flat=True)[::2]))
    return leader


def test_the_notification_list_gives_what_the_serializer_gives(users, inbox):
    queries = [
        "",
        "?unread=true",
        "?unread=false",
        "?kind=mention",
        "?kind=approved&unread=true",
        "?ordering=created_at",
        "?ordering=-id",
        "?kind=nothing",  # a 400, alike
        "?unread=maybe",  # neither true nor false: no filter, alike
    ]
    for user in users.values():
        client = api_client(read_afresh(user))
        for query in queries:
            separator = "&" if query else "?"
            url = f"{NOTIFICATIONS}{query}{separator}page_size=7"
            if "nothing" in query:
                assert assert_same(client, url).keys() == {"kind"}
            else:
                assert_same_pages(client, url)
        assert_same(client, f"{NOTIFICATIONS}?page=99")
    rows = assert_same_pages(api_client(read_afresh(inbox)), f"{NOTIFICATIONS}?page_size=500")
    assert {row["read_at"] is None for row in rows} == {True, False}
    assert {row["grant"] is None for row in rows} == {True, False}
    assert len(rows) == Notification.objects.filter(user=inbox).count() > 27
    for size in (len(rows) - 1, len(rows), len(rows) + 1):
        assert_same_pages(api_client(read_afresh(inbox)), f"{NOTIFICATIONS}?page_size={size}")
    assert_same(api_client(), NOTIFICATIONS)


def test_lists_in_another_time_zone(users, windows, inbox):
    client = api_client(read_afresh(inbox))
    with timezone.override("Asia/Kolkata"):
        rows = assert_same_pages(client, f"{NOTIFICATIONS}?page_size=500")
        assert_same_pages(client, WINDOWS)
    assert all(row["created_at"].endswith("+05:30") for row in rows)
