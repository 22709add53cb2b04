"""The grant page's part about what follows the exchange (``{% grant_follow_up grant %}``
in grants/grant_detail.html): grants may not import results, so the page includes this
tag of results, which reads the grant's chain (``grants.selectors.grant_chain``) and its
ex-post checks, and offers "propose a follow-on" to a task team leader while the grant
is completed or closed (the rule ``grants.services.grant_propose_follow_on`` applies)."""

from django import template

from grants.models import PARENT_STATUSES
from grants.permissions import can_create_grant
from grants.selectors import grant_chain

from ..forms_follow_up import ProposeFollowOnForm

register = template.Library()


@register.inclusion_tag("results/_grant_follow_up.html", takes_context=True)
def grant_follow_up(context, grant):
    user = context["request"].user
    can_propose = grant.status in PARENT_STATUSES and can_create_grant(user)[0]
    checks = list(grant.ex_post_checks.all()) if grant.status == "closed" else []
    return {
        "grant": grant,
        "chain": grant_chain(user, grant),
        "checks": checks,
        "can_propose": can_propose,
        "propose_form": ProposeFollowOnForm(auto_id="id_follow_on_%s") if can_propose else None,
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
    }
