"""Reads of collaboration: a grant's discussion and who takes part in it, a user's
notifications and preferences, and the calendar of what is due."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from accounts.selectors import saved_languages
from grants.models import GrantStatus
from grants.selectors import grants_visible_to
from partners.roles import Role

from .models import Comment, Delivery, Notification, NotificationKind, NotificationPreference


def comments_visible_to(user):
    """The comments of every grant this user may see (the API's scope); the rule
    ``permissions.can_discuss`` then admits the discussion's participants only."""
    return Comment.objects.filter(grant__in=grants_visible_to(user))


def grant_comments(grant):
    """A grant's discussion, oldest first, with its authors: one query."""
    return (
        Comment.objects.filter(grant=grant)
        .select_related("author")
        .only("id", "grant_id", "body", "body_html", "created_at", "author__username")
        .order_by("created_at", "pk")
    )


def discussion_participants(grant):
    """The active users who take part in the grant's discussion (``can_discuss``): its
    leader and, once it is no longer a draft, the fund managers (and superusers) and
    the approvers of its window. A queryset, for filtering names and recipients."""
    condition = Q(pk=grant.task_team_leader_id)
    if grant.status != GrantStatus.DRAFT:
        condition |= Q(groups__name=Role.FUND_MANAGER) | Q(is_superuser=True)
        if grant.window_id is not None:
            condition |= Q(groups__name=Role.WINDOW_MANAGER, window_limits__window=grant.window_id)
    return get_user_model().objects.filter(condition, is_active=True).distinct()


def fund_managers():
    """The active fund managers (superusers are not told of every proposal)."""
    return get_user_model().objects.filter(groups__name=Role.FUND_MANAGER, is_active=True)


def window_approvers(grant):
    if grant.window_id is None:
        return get_user_model().objects.none()
    return get_user_model().objects.filter(
        window_limits__window=grant.window_id, groups__name=Role.WINDOW_MANAGER, is_active=True
    )


def notifications_visible_to(user):
    """A user's own notifications; nobody reads another's."""
    if not user or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user=user)


def unread_count(user) -> int:
    """The header's count: one query for a signed-in user, none for anyone else."""
    if not user or not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def deliveries(user_ids, kind: str) -> dict[int, str]:
    """{user id: delivery} for ``kind``: each user's preference, at once without one."""
    chosen = dict(
        NotificationPreference.objects.filter(user_id__in=user_ids, kind=kind).values_list(
            "user_id", "delivery"
        )
    )
    return {pk: chosen.get(pk, Delivery.IMMEDIATELY) for pk in user_ids}


def preferences_of(user) -> dict[str, str]:
    """{kind: delivery} for every kind, the default where the user chose nothing."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    return {kind: chosen.get(kind, Delivery.IMMEDIATELY) for kind in NotificationKind.values}


def languages_of(user_ids) -> dict[int, str]:
    """The language each user reads what is written to them in: their saved one, else the
    site's (LANGUAGE_CODE)."""
    saved = saved_languages(user_ids)
    return {pk: saved.get(pk) or settings.LANGUAGE_CODE for pk in user_ids}
