"""A grant's discussion: who takes part, Markdown sanitised as stories are, @mentions of
participants (others stay text), who is told of a comment, nothing edited or deleted;
and every role on the comments endpoint."""

import pytest

from collaboration import services
from collaboration.models import Comment, NotificationKind
from grants import services as grant_services
from grants.models import GrantStatus
from tests.conftest import api_client
from tests.grants.factories import make_grant

from .conftest import told

pytestmark = pytest.mark.django_db
K = NotificationKind


def url(grant):
    return f"/api/v1/grants/{grant.pk}/comments/"


@pytest.fixture
def submitted(funded, leader, fund_manager, window):
    """A proposal of the window, submitted; its notifications cleared."""
    grant = make_grant(leader, GrantStatus.SUBMITTED, window=window)
    from collaboration.models import Notification

    Notification.objects.all().delete()
    return grant


def test_a_comment_is_markdown_rendered_and_sanitised(submitted, leader):
    response = api_client(leader).post(
        url(submitted),
        {
            "body": "**Budget** <script>alert(1)</script> [x](javascript:alert(1)) ![i](http://e/x.png)"
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "author", "body", "body_html", "created_at"}
    assert body["author"] == "ttl"
    html = body["body_html"]
    assert "<strong>Budget</strong>" in html
    assert "<script" not in html and "alert(1)</" not in html
    assert "javascript:" not in html and "<img" not in html
    listed = api_client(leader).get(url(submitted)).json()
    assert [c["id"] for c in listed["results"]] == [body["id"]]


def test_mentions_tell_participants_and_leave_others_as_text(
    submitted, leader, fund_manager, window_manager, donor, leader2, fund_manager2
):
    body = "Thanks @fm and @wm. Not @donor, @ttl2, @nobody or mail@fm.org. @fm again."
    comment = services.comment_create(grant=submitted, user=leader, body=body)
    assert sorted(u.username for u in comment.mentions.all()) == ["fm", "wm"]
    assert "@donor" in comment.body_html and "@nobody" in comment.body_html
    # Mentioned: a mention; the others who follow the proposal (no one has decided yet:
    # those who are to decide): a comment. Nobody twice, not the author.
    assert told() == [("fm", K.MENTION), ("fm2", K.COMMENT), ("wm", K.MENTION)]


def test_a_comment_tells_the_leader_and_those_who_decided_or_wrote(
    funded, leader, fund_manager, fund_manager2, make_user
):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    grant_services.grant_transition(grant=grant, user=fund_manager, action="start-review")
    from collaboration.models import Notification

    Notification.objects.all().delete()
    services.comment_create(grant=grant, user=fund_manager, body="One question.")
    assert told() == [("ttl", K.COMMENT)]
    Notification.objects.all().delete()
    services.comment_create(grant=grant, user=fund_manager2, body="And another.")
    assert told() == [("fm", K.COMMENT), ("ttl", K.COMMENT)]
    Notification.objects.all().delete()
    services.comment_create(grant=grant, user=leader, body="Answers.")
    assert told() == [("fm", K.COMMENT), ("fm2", K.COMMENT)]


def test_a_leader_comments_alone_on_their_draft(leader, fund_manager):
    grant = make_grant(leader)
    services.comment_create(grant=grant, user=leader, body="A note to self, @fm.")
    assert told() == []
    assert api_client(fund_manager).get(url(grant)).status_code == 404


def test_comments_are_never_edited_nor_deleted(submitted, leader):
    comment = services.comment_create(grant=submitted, user=leader, body="First")
    client = api_client(leader)
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"{url(submitted)}{comment.pk}/").status_code == 404
        assert getattr(client, method)(url(submitted), {"body": "x"}).status_code == 405
    assert Comment.objects.get().body == "First"


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {}, {"body": "x" * 10001}])
def test_an_empty_or_too_long_comment_is_a_400_on_body(submitted, leader, body):
    response = api_client(leader).post(url(submitted), body)
    assert response.status_code == 400 and "body" in response.json()
    assert not Comment.objects.exists()


# (who, grant status) -> expected list status, create status. "window_manager" is the
# approver of the grant's window; "other_leader" leads other grants.
MATRIX = {
    "fund_manager": (200, 201),
    "window_manager": (200, 201),
    "task_team_leader": (200, 201),
    "other_leader": (403, 403),  # sees an approved grant, not its deliberation
    "donor": (403, 403),
    "no_role": (404, 404),
    "superuser": (200, 201),
    "anonymous": (401, 401),
}


@pytest.mark.parametrize("who", list(MATRIX))
def test_every_role_on_the_comments_of_an_approved_grant(
    who, person, funded, leader, fund_manager, window, window_manager
):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager, window=window)
    services.comment_create(grant=grant, user=leader, body="Seen")
    client = api_client(person(who))
    listed, made = MATRIX[who]
    response = client.get(url(grant))
    assert response.status_code == listed
    if listed == 200:
        assert [c["body"] for c in response.json()["results"]] == ["Seen"]
    assert client.post(url(grant), {"body": "Hello"}).status_code == made
    assert Comment.objects.count() == (2 if made == 201 else 1)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("fund_manager", 404), ("window_manager", 404), ("other_leader", 404), ("donor", 404)],
)
def test_the_comments_of_a_draft_are_its_leaders_only(
    who, expected, person, funded, leader, window, window_manager
):
    grant = make_grant(leader, window=window)
    assert api_client(person(who)).get(url(grant)).status_code == expected
    assert api_client(leader).get(url(grant)).status_code == 200


def test_a_window_manager_of_another_window_sees_nothing(funded, leader, fund_manager, make_user):
    from partners.roles import Role

    stranger = make_user("wm-other", Role.WINDOW_MANAGER)
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    assert api_client(stranger).get(url(grant)).status_code == 404
    assert "wm-other" not in {name for name, _ in told()}
