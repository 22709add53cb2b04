"""Template helpers of the web pages that read partners' data: the user's roles (for the
navigation) and a contribution's status. The site's other helpers are ``seetf_web``
(seetf/common/templatetags)."""

from django import template

from partners.countries import country_name as _country_name
from partners.models import ContributionStatus
from partners.roles import (
    donor_partner_id,
    is_donor,
    is_fund_manager,
    is_task_team_leader,
    is_window_manager,
)

register = template.Library()


class Roles:
    """What the navigation and the pages need to know about the user's roles."""

    def __init__(self, user):
        authenticated = bool(user and user.is_authenticated)
        self.fund_manager = authenticated and is_fund_manager(user)
        self.task_team_leader = authenticated and is_task_team_leader(user)
        self.donor = authenticated and is_donor(user)
        self.window_manager = authenticated and is_window_manager(user)
        self.any = self.fund_manager or self.task_team_leader or self.donor or self.window_manager
        self._user = user

    @property
    def donor_partner_id(self):
        return donor_partner_id(self._user) if self.donor else None


@register.simple_tag
def roles_of(user) -> Roles:
    return Roles(user)


@register.filter
def contribution_status(value) -> str:
    """The label of a contribution's (derived) status."""
    return ContributionStatus(value).label if value in ContributionStatus.values else value


@register.filter
def country_name(country) -> str:
    """A country (or its stored English name) named in the page's language
    (``partners.countries``): ``{{ grant.country|country_name }}``."""
    return _country_name(country)
