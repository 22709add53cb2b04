"""The web pages of what happens after the exchange: a need's outcome recorded by a fund
manager, "propose a follow-on" (from a need or a completed or closed grant), an ex-post
check filed by the leader, and the sustained-results report. Reads through the
selectors (a grant or need the user may not see is a 404), writes through the services
the API uses."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from grants.models import PARENT_STATUSES
from grants.permissions import can_create_grant
from grants.selectors import visible_grant_or_404
from grants.services import grant_propose_follow_on
from partners.permissions import can_read_reference_data
from partners.roles import is_fund_manager
from seetf.common.errors import ApplicationError
from seetf.common.forms import service_errors_on

from . import selectors, services
from .forms_follow_up import (
    DropNeedForm,
    ExPostCheckForm,
    FinanceElsewhereForm,
    ProposeFollowOnForm,
)
from .models import EX_POST_RESULTS, ExPostCheck, FollowUpStatus


def needs_panel(user, grant, report) -> list[dict]:
    """The report page's follow-up needs (read from the report's prefetch), each with the
    forms this user may use on it: a fund manager records what became of an open need
    once the grant is completed; a task team leader proposes a follow-on for one."""
    if report is None:
        return []
    decides = is_fund_manager(user) and grant.status in services.NEED_DECISION_STATUSES
    proposes = can_create_grant(user)[0] and grant.status in PARENT_STATUSES
    rows = []
    for need in report.follow_up_needs.all():
        is_open = need.status == FollowUpStatus.OPEN
        rows.append(
            {
                "need": need,
                "finance_form": FinanceElsewhereForm(prefix=f"need{need.pk}")
                if decides and is_open
                else None,
                "drop_form": DropNeedForm(prefix=f"drop{need.pk}") if decides and is_open else None,
                "can_propose": proposes and is_open and need.proposed_grant_id is None,
            }
        )
    return rows


def _need(request, pk, need_pk):
    return get_object_or_404(
        selectors.follow_up_needs_visible_to(request.user).select_related("grant"),
        pk=need_pk,
        grant_id=pk,
    )


def _refused(request, error: ApplicationError, pk):
    if error.status == 403:
        raise PermissionDenied(error.message) from error
    messages.error(request, error.message)
    return redirect("results:report", pk=pk)


def _first_error(form) -> str:
    return next(iter(form.errors.values()))[0]


def _decide(request, pk, need_pk, form_class, prefix, service, done):
    """A fund manager's decision on a need from the report page: the role and the need's
    state first (a 403 page, or the reason), then the form, then the service; back to the
    report with what happened."""
    need = _need(request, pk, need_pk)
    try:
        services.need_decide_check(need=need, user=request.user)
    except ApplicationError as error:
        return _refused(request, error, pk)
    form = form_class(request.POST, prefix=f"{prefix}{need.pk}")
    if form.is_valid():
        with service_errors_on(form):
            service(need=need, user=request.user, **form.cleaned_data)
    if form.errors:
        messages.error(request, _first_error(form))
    else:
        messages.success(request, done)
    return redirect("results:report", pk=pk)


@login_required
@require_POST
def need_finance_elsewhere(request, pk, need_pk):
    return _decide(
        request,
        pk,
        need_pk,
        FinanceElsewhereForm,
        "need",
        services.need_finance_elsewhere,
        _("The need is recorded as financed elsewhere."),
    )


@login_required
@require_POST
def need_drop(request, pk, need_pk):
    return _decide(
        request, pk, need_pk, DropNeedForm, "drop", services.need_drop, _("The need is dropped.")
    )


def _proposed(request, draft):
    messages.success(
        request,
        _("A draft follow-on grant was made from it: edit it and submit it when ready."),
    )
    return redirect("grants:detail", pk=draft.pk)


@login_required
@require_POST
def need_propose_follow_on(request, pk, need_pk):
    need = _need(request, pk, need_pk)
    form = ProposeFollowOnForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("results:report", pk=pk)
    try:
        draft = services.need_propose_follow_on(need=need, user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        return _refused(request, error, pk)
    return _proposed(request, draft)


@login_required
@require_POST
def grant_follow_on(request, pk):
    grant = visible_grant_or_404(request.user, pk)
    form = ProposeFollowOnForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("grants:detail", pk=pk)
    try:
        draft = grant_propose_follow_on(parent=grant, user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
        return redirect("grants:detail", pk=pk)
    return _proposed(request, draft)


@login_required
def ex_post_check(request, pk, months):
    """An ex-post check: its leader files it from its due date; whoever sees the grant
    reads it."""
    grant = visible_grant_or_404(request.user, pk)
    check = get_object_or_404(
        ExPostCheck.objects.select_related("grant"), grant=grant, months_after_close=months
    )
    try:
        services.ex_post_check_file_check(check=check, user=request.user)
        refusal = None
    except ApplicationError as error:
        if request.method == "POST" and error.status == 403:
            raise PermissionDenied(error.message) from error
        refusal = error
    form = None
    if refusal is None:
        form = ExPostCheckForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            with service_errors_on(form):
                services.ex_post_check_file(check=check, user=request.user, **form.cleaned_data)
            if not form.errors:
                messages.success(request, _("The ex-post check was filed. Thank you."))
                return redirect("grants:detail", pk=grant.pk)
    elif request.method == "POST":
        messages.error(request, refusal.message)
    answers = [(name, getattr(check, name)) for name in EX_POST_RESULTS]
    return render(
        request,
        "results/ex_post_check.html",
        {
            "grant": grant,
            "check": check,
            "form": form,
            "answers": answers,
            "refusal": refusal.message if refusal and check.submitted_at is None else "",
        },
    )


@login_required
def sustained_results(request):
    """The sustained-results report as a page (the API's, with its downloads)."""
    allowed, reason = can_read_reference_data(request.user)
    if not allowed:
        raise PermissionDenied(reason)
    report = selectors.sustained_results_report(user=request.user, today=timezone.localdate())
    return render(request, "results/sustained_results.html", {"report": report})
