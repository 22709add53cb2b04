"""``{% grant_feedback_panel grant %}``: the participant feedback of a grant's exchanges
(aggregates per exchange and in total), with the "open a feedback link" buttons for
those who may; included by the grant page and the completion report's page, which the
grants app renders without importing results."""

from django import template

from grants.models import Exchange

from .. import selectors, services
from ..permissions import can_manage_feedback

register = template.Library()


def _with_percent(summary: dict) -> dict:
    share = summary["share_intending_to_apply"]
    return {**summary, "share_percent": None if share is None else round(share * 100)}


@register.inclusion_tag("results/_feedback_panel.html", takes_context=True)
def grant_feedback_panel(context, grant):
    user = context["request"].user
    exchanges = context.get("exchanges")
    if exchanges is None:
        exchanges = Exchange.objects.filter(grant=grant).order_by("start_date", "id")
    feedback = selectors.grant_feedback(grant)
    empty = _with_percent(selectors.empty_feedback())
    can_manage = can_manage_feedback(user, grant)[0] and (
        grant.status in services.FEEDBACK_LINK_GRANT_STATUSES
    )
    rows = [
        {
            "exchange": exchange,
            "summary": _with_percent(feedback["by_exchange"][exchange.pk])
            if exchange.pk in feedback["by_exchange"]
            else empty,
            "openable": exchange.status in services.FEEDBACK_LINK_EXCHANGE_STATUSES,
        }
        for exchange in exchanges
    ]
    return {
        "grant": grant,
        "feedback": {"total": _with_percent(feedback["total"])},
        "rows": rows,
        "can_manage": can_manage,
        "csrf_token": context.get("csrf_token"),
    }
