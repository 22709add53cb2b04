"""Template helpers of the web pages that know no app: money, percentages, links that
keep filters. What knows the apps' data (the user's roles, a contribution's status) is
in ``partners_web`` (partners/templatetags), since this module is below every app."""

from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html

from seetf.common.idempotency import FORM_FIELD, form_once_token

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


@register.simple_tag
def once_token():
    """The hidden one-time token of a money form (``seetf.common.idempotency.
    once_per_form``): a new one each time the form is rendered."""
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_FIELD, form_once_token())
