"""Who may do what with offers and requests (API.md roles), as named rules returning
``(allowed, reason)``. What a user may see at all is ``selectors.*_visible_to``."""

from django.utils.translation import gettext as _

from partners.roles import is_fund_manager, is_task_team_leader, user_roles


def is_signed_in(user) -> bool:
    return bool(user and user.is_authenticated)


def has_a_role(user) -> bool:
    return is_signed_in(user) and bool(user.is_superuser or user_roles(user))


def can_see_contacts(user) -> bool:
    """Anonymous visitors read the public catalogue without the contact fields; every
    signed-in user with a role sees them."""
    return has_a_role(user)


def can_write_offers(user) -> tuple[bool, str]:
    if is_signed_in(user) and (is_fund_manager(user) or is_task_team_leader(user)):
        return True, ""
    return False, _("Only task team leaders and fund managers write offers.")


def can_edit_offer(user, offer) -> tuple[bool, str]:
    """Fund managers edit, publish and withdraw any offer; a task team leader their own."""
    if is_signed_in(user) and is_fund_manager(user):
        return True, ""
    if is_signed_in(user) and is_task_team_leader(user) and offer.created_by_id == user.pk:
        return True, ""
    return False, _("Only the offer's author and fund managers change an offer.")


def can_read_requests(user) -> tuple[bool, str]:
    if has_a_role(user):
        return True, ""
    return False, _("Only signed-in fund managers, task team leaders and donors read requests.")


def can_write_requests(user) -> tuple[bool, str]:
    if is_signed_in(user) and (is_fund_manager(user) or is_task_team_leader(user)):
        return True, ""
    return False, _("Only task team leaders and fund managers write requests.")


def can_edit_request(user, request) -> tuple[bool, str]:
    """Fund managers change, close and match any request; a task team leader their own."""
    if is_signed_in(user) and is_fund_manager(user):
        return True, ""
    if is_signed_in(user) and is_task_team_leader(user) and request.requested_by_id == user.pk:
        return True, ""
    return False, _("Only the request's author and fund managers change or match a request.")
