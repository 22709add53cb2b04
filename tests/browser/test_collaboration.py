"""Working on a grant together, in the browser: a task team leader mentions a fund
manager in the discussion of a submitted proposal; the fund manager sees the header's
unread count move, opens the notification (marked read) and lands on the comment; the
notifications, calendar and grant pages pass axe at a laptop's and a phone's size."""

import pytest

from collaboration.models import Comment, Notification
from grants.models import GrantStatus
from partners.roles import Role
from partners.services import user_create_or_update
from tests.browser.conftest import PASSWORD, PHONE, assert_accessible, label
from tests.grants.factories import make_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def proposal(transactional_db):
    def user(username, role):
        return user_create_or_update(
            username=username, roles=[role], password=PASSWORD, email=f"{username}@example.org"
        )

    user("amina", Role.FUND_MANAGER)
    leader = user("tomas", Role.TASK_TEAM_LEADER)
    return make_grant(leader, GrantStatus.SUBMITTED)


def unread(window) -> str:
    return window.text("unread-count")


def test_a_leader_mentions_a_fund_manager_who_sees_the_unread_count_move(proposal, browser):
    fm = browser.window("amina")
    assert unread(fm) == "1"  # the proposal's submission

    leader = browser.window("tomas")
    page = leader.go(f"/grants/{proposal.pk}/")
    form = page.get_by_test_id("comment-form")
    form.get_by_label(label("Your comment")).fill(
        "@amina the **agenda** of the study tour is ready for your review."
    )
    leader.click(form.get_by_role("button", name="Add the comment"))
    comment = Comment.objects.get()
    assert page.url.endswith(f"/grants/{proposal.pk}/#comment-{comment.pk}")
    thread = page.get_by_test_id("comment")
    assert thread.count() == 1 and "agenda" in thread.first.inner_text()
    assert thread.first.locator(".meta strong").inner_text() == "tomas"
    assert thread.first.locator(".comments__body strong").inner_text() == "agenda"

    # The fund manager's next page shows one more unread.
    fm.go("/")
    assert unread(fm) == "2"
    fm.click(fm.page.get_by_test_id("notifications-link"))
    items = fm.page.get_by_test_id("notification")
    assert items.count() == 2
    mention = fm.page.locator('[data-testid="notification"][data-kind="mention"]')
    assert "tomas mentioned you" in mention.inner_text()
    assert_accessible(fm.page, "the notifications page")
    fm.click(mention.get_by_test_id("open-notification"))
    assert fm.page.url.endswith(f"/grants/{proposal.pk}/#comment-{comment.pk}")
    assert unread(fm) == "1"
    assert fm.page.get_by_test_id("discussion").is_visible()
    assert_accessible(fm.page, "the grant page with its discussion")
    assert Notification.objects.get(kind="mention").read_at is not None

    # At a phone's size: the calendar, and marking everything read.
    phone = browser.window("amina", viewport=PHONE)
    phone.go("/calendar/")
    assert phone.page.get_by_test_id("feed-url").input_value().endswith(".ics")
    assert_accessible(phone.page, "the calendar page on a phone")
    phone.go("/notifications/")
    phone.click(phone.page.get_by_test_id("mark-all-read").get_by_role("button"))
    assert unread(phone) == "0"
