"""The roles of API.md, held as Django groups (a user may hold several)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    FUND_MANAGER = "fund_manager", _("Fund manager")
    TASK_TEAM_LEADER = "task_team_leader", _("Task team leader")
    DONOR = "donor", _("Donor")
    # Decides on the grants of the funding windows where they are an approver, up to
    # their limit there (partners.models.WindowApprover).
    WINDOW_MANAGER = "window_manager", _("Window manager")


def user_roles(user) -> frozenset[str]:
    """The user's role names, read once per user object (one query)."""
    if not user or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_seetf_roles", None)
    if cached is None:
        names = user.groups.filter(name__in=Role.values).values_list("name", flat=True)
        cached = frozenset(names)
        user._seetf_roles = cached
    return cached


def role_names_subquery(user_id):
    """An expression giving, on PostgreSQL, the role names of the user ``user_id`` names
    (e.g. ``OuterRef("user_id")``) as an array: the query that reads a user (the API's
    token) reads their roles too, instead of ``user_roles`` reading them in one more."""
    from django.contrib.auth.models import Group
    from django.contrib.postgres.expressions import ArraySubquery

    return ArraySubquery(Group.objects.filter(user=user_id, name__in=Role.values).values("name"))


def remember_roles(user, names) -> None:
    """The user's role names, read with the user (``role_names_subquery``): what
    ``user_roles`` then gives without a query."""
    user._seetf_roles = frozenset(names)


def has_role(user, role: str) -> bool:
    if user and user.is_authenticated and user.is_superuser:
        return True
    return role in user_roles(user)


def is_fund_manager(user) -> bool:
    return has_role(user, Role.FUND_MANAGER)


def is_task_team_leader(user) -> bool:
    return has_role(user, Role.TASK_TEAM_LEADER)


def is_donor(user) -> bool:
    return has_role(user, Role.DONOR)


def is_window_manager(user) -> bool:
    return has_role(user, Role.WINDOW_MANAGER)


def donor_partner_id(user) -> int | None:
    """The partner a donor user represents, or None."""
    membership = getattr(user, "partner_membership", None) if user.is_authenticated else None
    return membership.partner_id if membership else None
