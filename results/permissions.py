"""Who may read and write results stories and lessons (API.md roles), as named rules.
Who reads, writes, submits and accepts a completion report is part of the grant
workflow, in ``grants.permissions`` (``can_see_report``, ``can_write_report``,
``can_accept_report``)."""

from django.utils.translation import gettext as _

from partners.roles import is_fund_manager, user_roles

# --- Results stories and lessons ---------------------------------------------------------


def can_see_story_drafts(user) -> bool:
    """Fund managers (and superusers) see drafts; everyone else, anonymous users
    included, sees published stories only, and a draft is a 404 to them."""
    return bool(user and user.is_authenticated and is_fund_manager(user))


def can_write_stories(user) -> tuple[bool, str]:
    if user and user.is_authenticated and is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers write and publish results stories.")


def can_read_lessons(user) -> tuple[bool, str]:
    """The knowledge hub's lessons come from completion reports, which API.md keeps from
    anonymous users and from users without a role."""
    if user.is_superuser or user_roles(user):
        return True, ""
    return False, _("Only fund managers, task team leaders and donors read lessons.")


# --- After the exchange ---------------------------------------------------------------


def can_decide_needs(user) -> tuple[bool, str]:
    """Fund managers edit follow-up needs and record what became of them."""
    if user and user.is_authenticated and is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers edit follow-up needs and record their outcome.")


def can_file_ex_post(user, grant) -> tuple[bool, str]:
    """A grant's ex-post checks are filed by its task team leader."""
    if grant.task_team_leader_id == user.pk:
        return True, ""
    return False, _("Only the grant's task team leader files its ex-post checks.")


# --- Lessons with evidence and participant feedback ----------------------------------


def can_write_lesson(user, grant) -> tuple[bool, str]:
    """A grant's leader writes its lessons (and superusers, who may do anything)."""
    if (
        user
        and user.is_authenticated
        and (user.is_superuser or grant.task_team_leader_id == user.pk)
    ):
        return True, ""
    return False, _("Only the grant's task team leader writes its lessons.")


def can_review_lessons(user) -> tuple[bool, str]:
    if user and user.is_authenticated and is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers review lessons.")


def can_see_unreviewed_lessons(user) -> bool:
    """Fund managers see every lesson, to review it; a leader also sees the unreviewed
    lessons of their own grants; everyone else reviewed lessons only."""
    return bool(user and user.is_authenticated and is_fund_manager(user))


def can_manage_feedback(user, grant) -> tuple[bool, str]:
    """Fund managers and the grant's leader open and close an exchange's feedback links."""
    if (
        user
        and user.is_authenticated
        and (is_fund_manager(user) or grant.task_team_leader_id == user.pk)
    ):
        return True, ""
    return False, _("Only fund managers and the grant's task team leader manage feedback links.")
