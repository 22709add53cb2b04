"""The pages: the header's unread count on every page (one query, none for anonymous
visitors), the discussion on the grant page, the notifications page with mark-read, and
the e-mail choices."""

import pytest

from collaboration import selectors, services
from collaboration.models import Comment, Delivery, Notification, NotificationKind
from grants.models import GrantStatus
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db


def unread_badge(html: str) -> str:
    start = html.index('data-testid="unread-count">') + len('data-testid="unread-count">')
    return html[start : html.index("<", start)]


def test_the_header_counts_the_unread(web, funded, leader, fund_manager):
    client = web(fund_manager)
    assert unread_badge(client.get("/").content.decode()) == "0"
    make_grant(leader, GrantStatus.SUBMITTED)
    make_grant(leader, GrantStatus.SUBMITTED)
    assert unread_badge(client.get("/").content.decode()) == "2"
    assert 'data-testid="unread-count"' not in web().get("/").content.decode()


def test_the_unread_count_is_one_query(fund_manager, django_assert_num_queries):
    with django_assert_num_queries(1):
        selectors.unread_count(fund_manager)
    from django.contrib.auth.models import AnonymousUser

    with django_assert_num_queries(0):
        assert selectors.unread_count(AnonymousUser()) == 0


def test_the_grant_page_shows_the_discussion_to_its_participants(
    web, funded, leader, fund_manager, donor, leader2
):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    services.comment_create(grant=grant, user=leader, body="Is the *agenda* final, @fm?")
    html = web(fund_manager).get(f"/grants/{grant.pk}/").content.decode()
    assert 'data-testid="discussion"' in html and "<em>agenda</em>" in html
    assert 'data-testid="comment-form"' in html
    for outsider in (donor, leader2):
        html = web(outsider).get(f"/grants/{grant.pk}/").content.decode()
        assert 'data-testid="discussion"' not in html and "agenda" not in html


def test_the_comment_form_adds_a_comment_and_tells_the_mentioned(
    web, funded, leader, fund_manager, fund_manager2
):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    Notification.objects.all().delete()
    client = web(leader)
    response = client.post(f"/grants/{grant.pk}/comments/", {"body": "Over to you, @fm2"})
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/grants/{grant.pk}/#comment-{comment.pk}"
    kinds = dict(Notification.objects.values_list("user__username", "kind"))
    assert kinds == {"fm2": NotificationKind.MENTION, "fm": NotificationKind.COMMENT}
    # An empty comment: nothing, and the reason on the grant page.
    response = client.post(f"/grants/{grant.pk}/comments/", {"body": " "}, follow=True)
    assert Comment.objects.count() == 1
    assert "This field is required." in response.content.decode()


def test_the_comment_form_refuses_outsiders(web, funded, leader, fund_manager, donor, leader2):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    assert web(donor).post(f"/grants/{grant.pk}/comments/", {"body": "x"}).status_code == 403
    draft = make_grant(leader)
    assert web(fund_manager).post(f"/grants/{draft.pk}/comments/", {"body": "x"}).status_code == 404
    assert web().post(f"/grants/{grant.pk}/comments/", {"body": "x"}).status_code == 302
    assert not Comment.objects.exists()


def test_the_notifications_page_marks_read(web, funded, leader, fund_manager):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    make_grant(leader, GrantStatus.SUBMITTED)
    client = web(fund_manager)
    html = client.get("/notifications/").content.decode()
    assert html.count('data-testid="notification"') == 2 and grant.reference in html
    first = Notification.objects.get(grant=grant)
    response = client.post("/notifications/read/", {"id": first.pk, "next": first.path})
    assert response["Location"] == f"/grants/{grant.pk}/"
    assert selectors.unread_count(fund_manager) == 1
    # A link elsewhere is not followed; another's notification is not touched.
    theirs = Notification.objects.create(user=leader, kind="comment", text="x", delivery="never")
    client.post("/notifications/read/", {"id": theirs.pk, "next": "//evil.example/"})
    mine = Notification.objects.create(
        user=fund_manager, kind="comment", text="x", delivery="never"
    )
    for elsewhere in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        response = client.post("/notifications/read/", {"id": mine.pk, "next": elsewhere})
        assert response["Location"] == "/notifications/"
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert client.post("/notifications/read/", {"id": "x"}).status_code == 404
    client.post("/notifications/read/")
    assert selectors.unread_count(fund_manager) == 0
    html = client.get("/notifications/?unread=1").content.decode()
    assert 'data-testid="no-notifications"' in html


def test_the_preferences_page_saves_each_kind(web, leader):
    client = web(leader)
    page = client.get("/notifications/preferences/")
    assert page.status_code == 200
    choices = {kind: Delivery.IMMEDIATELY for kind in NotificationKind.values}
    choices[NotificationKind.MENTION] = Delivery.DAILY
    choices[NotificationKind.DISBURSEMENT] = Delivery.NEVER
    assert client.post("/notifications/preferences/", choices).status_code == 302
    assert selectors.preferences_of(leader) == choices
    bad = {**choices, NotificationKind.COMMENT: "hourly"}
    assert client.post("/notifications/preferences/", bad).status_code == 200
    assert selectors.preferences_of(leader) == choices


def test_the_pages_need_a_login(web):
    for path in ("/notifications/", "/notifications/preferences/", "/calendar/"):
        assert web().get(path).status_code == 302
    assert web().post("/notifications/read/").status_code == 302
