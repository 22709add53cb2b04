"""``{% exchange_map %}``: the world map of the exchanges with the region matrix and the
country flows beside it, for any page (the donor dashboard, the knowledge hub)."""

from django import template

from ..views import exchange_map_context

register = template.Library()


@register.inclusion_tag("analytics/_exchange_map.html", takes_context=True)
def exchange_map(context, limit=10):
    request = context["request"]
    return {"exchange_map": exchange_map_context(request.user, limit=limit), "compact": True}
