"""The grant page's upload form posts here (the page itself is grants')."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from grants.views import _grant_for_page, _refuse, grant_page
from seetf.common.errors import ApplicationError
from seetf.common.forms import service_errors_on

from . import services
from .forms import DocumentForm


@login_required
@require_POST
def document_upload(request, pk):
    """Add a document; on a refusal the grant page again, the form with its errors."""
    grant = _grant_for_page(request, pk)  # 404 for a grant the user may not see
    try:
        services.document_check(grant=grant, user=request.user)  # 403, or the reason
    except ApplicationError as error:
        return _refuse(request, error, grant)
    exchanges = list(grant.exchanges.all())
    form = DocumentForm(request.POST, request.FILES, exchanges=exchanges)
    if form.is_valid():
        data = form.cleaned_data
        with service_errors_on(form):
            document = services.document_upload(
                grant=grant,
                user=request.user,
                file=data["file"],
                category=data["category"],
                title=data["title"],
                exchange=next((e for e in exchanges if e.pk == data["exchange"]), None),
            )
        if not form.errors:
            messages.success(request, _("“%(title)s” added.") % {"title": document.title})
            return redirect(reverse("grants:detail", args=[grant.pk]) + "#documents")
    request.document_form = form  # shown by the grant page's documents section
    response = grant_page(request, _grant_for_page(request, pk))
    response.status_code = 400
    return response
