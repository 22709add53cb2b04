"""Template helpers of the web pages that know no app: money, percentages, links that
keep filters. What knows the apps' data (the user's roles, a contribution's status) is
in ``partners_web`` (partners/templatetags), since this module is below every app."""

import html as html_entities
import re
from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html, strip_tags

from seetf.common.forms import quick_field_group
from seetf.common.idempotency import FORM_FIELD, form_once_token

register = template.Library()


@register.filter
def field_group(field) -> str:
    """``{{ field|field_group }}``: ``field.as_field_group``, written without templates
    (``seetf.common.forms.quick_field_group``)."""
    return quick_field_group(field)


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


# Where one block of HTML ends and the next begins: a space there, so that a heading and
# the sentence after it do not run together once the tags are stripped.
_BLOCK_END = re.compile(
    r"<\s*(/\s*(p|h[1-6]|li|ul|ol|blockquote|pre|tr|td|th|table)|br|hr)\b[^>]*>", re.I
)


@register.filter
def plain_text(html) -> str:
    """Sanitized HTML (a story's ``body_html``) as plain text for an excerpt: blocks
    separated by a space, whitespace collapsed. Django's ``striptags`` alone joins
    ``<h2>Context</h2><p>The utility...`` into "ContextThe utility". Entities are
    decoded: the template escapes the text once, as it does any other."""
    text = html_entities.unescape(strip_tags(_BLOCK_END.sub(" ", str(html or ""))))
    return " ".join(text.split())
