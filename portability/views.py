"""The fund managers' page for bringing a portfolio in (and out): /import/.

Upload a workbook (with a dry-run checkbox, on by default): the same code path as
``manage.py import_portfolio`` (``portability.importer.import_portfolio``, as the signed-in
fund manager), then every problem in one table (sheet, row, column, what is wrong), or
what was created. The template and the whole portfolio download from the same page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from seetf.common.spreadsheets import XLSX_MEDIA_TYPE

from .exporter import export_portfolio, template_workbook
from .forms import ImportForm
from .importer import import_portfolio
from .permissions import can_import_portfolio
from .reader import max_bytes

SHOWN_PROBLEMS = 1000


def _require(user) -> None:
    allowed, reason = can_import_portfolio(user)
    if not allowed:
        raise PermissionDenied(reason)


def _xlsx(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX_MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def import_page(request):
    _require(request.user)
    result = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = import_portfolio(
            upload,
            user=request.user,
            dry_run=form.cleaned_data["dry_run"],
            file_name=upload.name,
        )
        if result.ok and result.written:
            messages.success(request, _("Imported: %(what)s.") % {"what": result.summary()})
        elif result.ok:
            messages.success(
                request,
                _("Dry run: the file is good; it would create %(what)s. Nothing was written.")
                % {"what": result.summary()},
            )
        else:
            messages.error(
                request,
                _("%(count)s problem(s) found; nothing was written.")
                % {"count": len(result.problems)},
            )
    return render(
        request,
        "portability/import.html",
        {
            "form": form,
            "result": result,
            "problems": result.problems[:SHOWN_PROBLEMS] if result else [],
            "more": max(0, len(result.problems) - SHOWN_PROBLEMS) if result else 0,
            "max_mb": max_bytes() // (1024 * 1024),
        },
    )


@login_required
def template_download(request):
    _require(request.user)
    return _xlsx(template_workbook(), "seetf-portfolio-template.xlsx")


@login_required
def export_download(request):
    _require(request.user)
    return _xlsx(export_portfolio(), f"seetf-portfolio-{timezone.localdate():%Y-%m-%d}.xlsx")
