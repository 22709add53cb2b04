"""Writes of collaboration: comments (with their mentions), notifications, read marks,
e-mail preferences and calendar feed tokens. The API, the pages and the signal
receivers all come here."""

import re
import secrets
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from grants.models import GrantHistory
from results.markdown import render_markdown
from seetf.common.rules import require

from . import selectors, tasks
from .models import (
    CalendarFeed,
    Comment,
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from .permissions import can_discuss

# @name, as Django usernames are spelt (letters, digits and . + - _), not inside a word
# or an e-mail address; a full stop ending the sentence is not part of it.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]*[\w+-])")
MAX_MENTIONS = 20
# The decisions that make a user one who "decides" a grant (told of its comments).
DECISIONS = ("start-review", "return", "reject", "approve", "cancel", "accept-report", "close")
EXCERPT = 300


def grant_label(grant) -> str:
    return f"{grant.reference}: {grant.title}" if grant.reference else grant.title


def grant_path(grant, anchor: str = "") -> str:
    return f"/grants/{grant.pk}/{anchor}"


def notify(
    *, users, kind: str, grant=None, text: Callable[[], str], path: str = "", actor=None
) -> int:
    """Tell each of ``users`` (but the actor) of something: a row each, in the current
    transaction, e-mailed as their preference for ``kind`` says once it commits. A user
    without an e-mail address is told in the header only. Returns how many were told.

    ``text()`` gives the words, called once per language of the recipients (their saved
    one, else the site's), never in the language of whoever acted."""
    wanted = {user.pk for user in users} - {getattr(actor, "pk", None)}
    if not wanted:
        return 0
    emails = dict(
        get_user_model().objects.filter(pk__in=wanted, is_active=True).values_list("pk", "email")
    )
    chosen = selectors.deliveries(list(emails), kind)
    languages = selectors.languages_of(list(emails))
    words: dict[str, str] = {}
    for language in set(languages.values()):
        with translation.override(language):
            words[language] = text()[:6000]
    rows = [
        Notification(
            user_id=pk,
            kind=kind,
            grant=grant,
            text=words[languages[pk]],
            path=path,
            delivery=chosen[pk] if emails[pk] else Delivery.NEVER,
        )
        for pk in sorted(emails)
    ]
    Notification.objects.bulk_create(rows)
    if any(row.delivery == Delivery.IMMEDIATELY for row in rows):
        tasks.emails_after_commit()
    return len(rows)


# --- The discussion --------------------------------------------------------------------


def mentioned_users(body: str, grant) -> list:
    """The participants of the grant's discussion that ``body`` names with @username
    (any other @name stays plain text: nobody else could read the comment)."""
    names = list(dict.fromkeys(MENTION.findall(body or "")))[:MAX_MENTIONS]
    if not names:
        return []
    return list(
        selectors.discussion_participants(grant).filter(username__in=names).order_by("username")
    )


def _told_of_comments(grant) -> set[int]:
    """Who is told of a comment on the grant: its leader, whoever has decided on it and
    whoever has written in its discussion, while they still take part in it; before
    anyone has decided, those who are to decide (the fund managers and the window's
    approvers), as for a submitted proposal."""
    participants = selectors.discussion_participants(grant)
    deciders = set(
        GrantHistory.objects.filter(grant=grant, action__in=DECISIONS)
        .exclude(actor=None)
        .values_list("actor_id", flat=True)
    )
    writers = set(Comment.objects.filter(grant=grant).values_list("author_id", flat=True))
    if not deciders:
        deciders = set(selectors.fund_managers().values_list("pk", flat=True))
        deciders |= set(selectors.window_approvers(grant).values_list("pk", flat=True))
    wanted = {grant.task_team_leader_id} | deciders | writers
    return set(participants.filter(pk__in=wanted).values_list("pk", flat=True))


@transaction.atomic
def comment_create(*, grant, user, body: str) -> Comment:
    """Add a comment to the grant's discussion (403 unless its participant); tell those
    it mentions (``mention``) and the others who follow the grant (``comment``)."""
    require(can_discuss(user, grant))
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("Write something.")]})
    recipients = _told_of_comments(grant)  # before this comment makes its author a writer
    comment = Comment.objects.create(
        grant=grant, author=user, body=body, body_html=render_markdown(body)
    )
    mentioned = [u for u in mentioned_users(body, grant) if u.pk != user.pk]
    comment.mentions.set(mentioned)
    author = user.get_username()
    excerpt = body if len(body) <= EXCERPT else body[:EXCERPT].rstrip() + "…"
    path = grant_path(grant, f"#comment-{comment.pk}")
    values = {"author": author, "grant": grant_label(grant), "excerpt": excerpt}
    notify(
        users=mentioned,
        kind=NotificationKind.MENTION,
        grant=grant,
        text=lambda: _("%(author)s mentioned you on %(grant)s: %(excerpt)s") % values,
        path=path,
        actor=user,
    )
    others = recipients - {u.pk for u in mentioned}
    notify(
        users=get_user_model().objects.filter(pk__in=others),
        kind=NotificationKind.COMMENT,
        grant=grant,
        text=lambda: _("%(author)s commented on %(grant)s: %(excerpt)s") % values,
        path=path,
        actor=user,
    )
    return comment


# --- Notifications read and preferences ---------------------------------------------------


def notifications_mark_read(*, user, ids=None) -> int:
    """Mark the user's own notifications read: those of ``ids`` (others' ids, or ones
    already read, are ignored), or all of them when ``ids`` is None. How many changed."""
    unread = selectors.notifications_visible_to(user).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def preferences_set(*, user, preferences: dict[str, str]) -> None:
    """Set the user's e-mail choice for each kind given ({kind: delivery}). It applies
    to notifications made from now on."""
    for kind, delivery in preferences.items():
        if kind not in NotificationKind.values or delivery not in Delivery.values:
            raise ValidationError(
                {
                    kind: [
                        _("Not a kind and delivery: %(kind)s, %(delivery)s.")
                        % {"kind": kind, "delivery": delivery}
                    ]
                }
            )
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"delivery": delivery}
        )


# --- The calendar feed ----------------------------------------------------------------------


def calendar_feed_for(user) -> CalendarFeed:
    """The user's feed, made with a new secret token the first time it is asked for."""
    feed = CalendarFeed.objects.filter(user=user).first()
    return feed or calendar_feed_reset(user=user)


@transaction.atomic
def calendar_feed_reset(*, user) -> CalendarFeed:
    """A new secret token for the user's feed: the old address stops working (404)."""
    feed, made = CalendarFeed.objects.select_for_update().get_or_create(
        user=user, defaults={"token": secrets.token_urlsafe(32)}
    )
    if not made:
        feed.token = secrets.token_urlsafe(32)
        feed.created_at = timezone.now()
        feed.save(update_fields=["token", "created_at"])
    return feed
