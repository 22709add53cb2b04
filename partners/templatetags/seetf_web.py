"""Template helpers of the web pages: money, the user's roles, links that keep filters."""

from decimal import Decimal

from django import template
from django.utils.formats import number_format

from partners.models import ContributionStatus
from partners.roles import donor_partner_id, is_donor, is_fund_manager, is_task_team_leader

register = template.Library()


@register.filter
def money(value) -> str:
    """A USD amount with two decimals and grouped thousands ("1,234.50"); "–" for none."""
    if value is None or value == "":
        return "–"
    return number_format(Decimal(value), 2, force_grouping=True)


@register.filter
def percent(value) -> str:
    if value is None:
        return "–"
    return number_format(Decimal(value), 2, force_grouping=True)


class Roles:
    """What the navigation and the pages need to know about the user's roles."""

    def __init__(self, user):
        authenticated = bool(user and user.is_authenticated)
        self.fund_manager = authenticated and is_fund_manager(user)
        self.task_team_leader = authenticated and is_task_team_leader(user)
        self.donor = authenticated and is_donor(user)
        self.any = self.fund_manager or self.task_team_leader or self.donor
        self._user = user

    @property
    def donor_partner_id(self):
        return donor_partner_id(self._user) if self.donor else None


@register.simple_tag
def roles_of(user) -> Roles:
    return Roles(user)


@register.simple_tag(takes_context=True)
def page_url(context, page_number) -> str:
    """The current URL's query string with ``page`` replaced (filters are kept)."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else None
    if query is None:
        return f"?page={page_number}"
    query["page"] = page_number
    return f"?{query.urlencode()}"


@register.filter
def startswith(value, prefix) -> bool:
    return str(value or "").startswith(str(prefix or ""))


@register.filter
def contribution_status(value) -> str:
    """The label of a contribution's (derived) status."""
    return ContributionStatus(value).label if value in ContributionStatus.values else value
