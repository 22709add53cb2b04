"""``{% grant_documents %}``: the grant page's documents section, from the page's own
context (its grant, exchanges and request), so that grants' view needs no change."""

from django import template
from django.template.defaultfilters import filesizeformat

from seetf.common.errors import ApplicationError
from seetf.common.forms import quick_selects

from .. import selectors
from ..forms import DocumentForm
from ..services import document_check, max_bytes

register = template.Library()


def _may_upload(user, grant) -> bool:
    try:
        document_check(grant=grant, user=user)
    except ApplicationError:
        return False
    return True


@register.inclusion_tag("documents/_grant_documents_section.html", takes_context=True)
def grant_documents(context):
    request, grant = context["request"], context["grant"]
    exchanges = context.get("exchanges") or []
    form = getattr(request, "document_form", None)
    if form is None and _may_upload(request.user, grant):
        form = quick_selects(DocumentForm(exchanges=exchanges))
    return {
        "grant": grant,
        # The page's grant is one the user sees (the grant page 404s otherwise).
        "documents": selectors.seen_grant_documents(grant.pk),
        "form": form,
        "max_size": filesizeformat(max_bytes()),
        "request": request,
    }


@register.inclusion_tag("documents/_story_documents_list.html", takes_context=True)
def story_documents(context):
    story = context["story"]
    documents = []
    if story.published:
        documents = list(
            selectors.public_documents().filter(grant_id=story.grant_id).order_by("title", "id")
        )
    return {"documents": documents}
