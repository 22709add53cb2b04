"""The web pages of partners and money in: partners, contributions (pledges) and their
receipts, and the contributions table (Annex C). Fund managers record; every role reads.
Writes go through ``partners.services``, rules through ``partners.permissions``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from seetf.common.forms import apply_service_errors, service_errors_on
from seetf.common.idempotency import once_per_form

from . import permissions as rules
from . import selectors, services
from .filters import AuditEntryFilter, ContributionFilter
from .forms import (
    ApproverForm,
    ContributionForm,
    PartnerForm,
    ReceiptForm,
    ReversalForm,
    WindowCloseForm,
    WindowForm,
    WindowMoneyForm,
    mark_reversals,
)
from .models import Contribution, Partner, Window, WindowStatus

PAGE_SIZE = 50


def _require(rule_result: tuple[bool, str]) -> None:
    allowed, reason = rule_result
    if not allowed:
        raise PermissionDenied(reason)


# --- Partners --------------------------------------------------------------------------


@login_required
def partner_list(request):
    """The partners with what each pledged, paid in and still owes (Annex C)."""
    _require(rules.can_read_reference_data(request.user))
    report = selectors.contributions_report()
    partners = {p.code: p for p in Partner.objects.select_related("country")}
    rows = [{**row, "partner_obj": partners.get(row["code"])} for row in report["rows"]]
    return render(
        request,
        "partners/partner_list.html",
        {
            "rows": rows,
            "totals": report["totals"],
            "can_write": rules.can_write_partners(request.user)[0],
        },
    )


@login_required
def partner_detail(request, pk):
    _require(rules.can_read_reference_data(request.user))
    partner = get_object_or_404(Partner.objects.select_related("country"), pk=pk)
    contributions = list(partner.contributions.order_by("signed_on", "id"))
    return render(
        request,
        "partners/partner_detail.html",
        {
            "partner": partner,
            "contributions": contributions,
            "report": selectors.contributions_report(
                partners=Partner.objects.filter(pk=partner.pk)
            )["totals"],
            "can_write": rules.can_write_partners(request.user)[0],
            "can_record": rules.can_record_money_in(request.user)[0],
        },
    )


@login_required
def partner_form(request, pk=None):
    _require(rules.can_write_partners(request.user))
    partner = get_object_or_404(Partner, pk=pk) if pk is not None else None
    initial = PartnerForm.initial_for(partner) if partner else None
    form = PartnerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if partner is None:
                partner = services.partner_create(actor=request.user, **form.cleaned_data)
            else:
                partner = services.partner_update(
                    partner=partner, actor=request.user, **form.cleaned_data
                )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The partner %(name)s was saved.") % {"name": partner})
            return redirect("partners:detail", pk=partner.pk)
    return render(request, "partners/partner_form.html", {"form": form, "partner": partner})


# --- Contributions and receipts -----------------------------------------------------------


@login_required
def contribution_list(request):
    _require(rules.can_read_reference_data(request.user))
    contributions = Contribution.objects.select_related("partner").order_by(
        "partner__name", "signed_on", "id"
    )
    filterset = ContributionFilter(request.GET or None, queryset=contributions)
    filterset.form.fields["partner"].label = _("Partner")
    filterset.form.fields["currency"].label = _("Currency")
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/contribution_list.html",
        {
            "filterset": filterset,
            "page": page,
            "can_record": rules.can_record_money_in(request.user)[0],
        },
    )


@login_required
def contribution_detail(request, pk, receipt_form=None, reversal=None):
    """A pledge and its receipts; ``reversal`` is ``(receipt_id, form)`` to show again."""
    _require(rules.can_read_reference_data(request.user))
    contribution = get_object_or_404(Contribution.objects.select_related("partner"), pk=pk)
    can_record = rules.can_record_money_in(request.user)[0]
    if can_record and receipt_form is None:
        receipt_form = ReceiptForm(initial={"received_on": timezone.localdate()})
    receipts = mark_reversals(
        list(contribution.receipts.select_related("recorded_by")),
        can_reverse=can_record,
        url_for=lambda r: reverse("partners:receipt-reverse", args=[contribution.pk, r.pk]),
        bound=reversal,
    )
    return render(
        request,
        "partners/contribution_detail.html",
        {
            "contribution": contribution,
            "receipts": receipts,
            "receipt_form": receipt_form if can_record else None,
            "can_record": can_record,
        },
    )


@login_required
@once_per_form
def contribution_form(request, pk=None):
    """Record a pledge or amend one (the form records once: its one-time token)."""
    _require(rules.can_record_money_in(request.user))
    contribution = get_object_or_404(Contribution, pk=pk) if pk is not None else None
    initial = ContributionForm.initial_for(contribution) if contribution else None
    if contribution is None:
        # "Record a pledge" from a partner's page names the partner (an unknown id is
        # simply no choice: the form's own field checks what is sent).
        initial = {"partner": request.GET.get("partner"), "currency": "USD"}
    form = ContributionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if contribution is None:
                contribution = services.contribution_create(
                    actor=request.user, **form.service_fields()
                )
            else:
                contribution = services.contribution_update(
                    contribution=contribution, actor=request.user, **form.service_fields()
                )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("The contribution %(ref)s was saved.") % {"ref": contribution}
            )
            return redirect("partners:contribution-detail", pk=contribution.pk)
    return render(
        request,
        "partners/contribution_form.html",
        {"form": form, "contribution": contribution},
    )


@login_required
@require_POST
@once_per_form
def receipt_create(request, pk):
    """Record money paid in against a pledge (it credits the fund)."""
    _require(rules.can_record_money_in(request.user))
    contribution = get_object_or_404(Contribution, pk=pk)
    form = ReceiptForm(request.POST)
    if form.is_valid():
        try:
            receipt = services.receipt_record(
                contribution=contribution, recorded_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("A receipt of %(amount)s %(currency)s was recorded; %(usd)s USD credited.")
                % {
                    "amount": f"{receipt.amount:,.2f}",
                    "currency": contribution.currency,
                    "usd": f"{receipt.usd_amount:,.2f}",
                },
            )
            return redirect(
                reverse("partners:contribution-detail", args=[contribution.pk]) + "#receipts"
            )
    return contribution_detail(request, pk, receipt_form=form)


@login_required
@require_POST
@once_per_form
def receipt_reverse(request, pk, receipt_pk):
    """Correct a receipt by a reversing entry (it takes the money back from the fund)."""
    _require(rules.can_record_money_in(request.user))
    contribution = get_object_or_404(Contribution, pk=pk)
    receipt = get_object_or_404(contribution.receipts, pk=receipt_pk)
    form = ReversalForm(request.POST, auto_id=f"id_reverse_{receipt.pk}_%s")
    if form.is_valid():
        with service_errors_on(form):
            reversal = services.receipt_reverse(
                receipt=receipt, user=request.user, reason=form.cleaned_data["reason"]
            )
        if not form.errors:
            messages.success(
                request,
                _("The receipt of %(date)s was reversed; %(usd)s USD taken back from the fund.")
                % {
                    "date": f"{receipt.received_on:%Y-%m-%d}",
                    "usd": f"{-reversal.usd_amount:,.2f}",
                },
            )
            return redirect(
                reverse("partners:contribution-detail", args=[contribution.pk]) + "#receipts"
            )
    return contribution_detail(request, pk, reversal=(receipt.pk, form))


# --- Funding windows -------------------------------------------------------------------------


def _visible_window(user, pk) -> Window:
    return get_object_or_404(
        selectors.windows_with_details(selectors.windows_visible_to(user)), pk=pk
    )


@login_required
def window_list(request):
    """Every funding window with its balances; fund managers open new ones."""
    _require(rules.can_read_windows(request.user))
    windows = selectors.windows_with_details(selectors.windows_visible_to(request.user))
    return render(
        request,
        "partners/window_list.html",
        {
            "windows": list(windows.order_by("status", "code")),
            "can_manage": rules.can_manage_windows(request.user)[0],
        },
    )


@login_required
def window_detail(request, pk, forms=None):
    """A window: its rules, balances, approvers and limits, and its movements; fund
    managers edit it, name approvers, allocate, release and close (``forms``: a
    submitted form to show again with its errors, by name)."""
    _require(rules.can_read_windows(request.user))
    window = _visible_window(request.user, pk)
    can_manage = rules.can_manage_windows(request.user)[0]
    forms = forms or {}
    context = {
        "window": window,
        "approvers": list(window.approver_limits.all()),
        "movements": list(
            window.movements.select_related("recorded_by").order_by("-created_at", "-id")
        ),
        "can_manage": can_manage,
        "is_open": window.status == WindowStatus.OPEN,
    }
    if can_manage:
        context.update(
            approver_form=forms.get("approver") or ApproverForm(auto_id="id_approver_%s"),
            allocate_form=forms.get("allocate") or WindowMoneyForm(auto_id="id_allocate_%s"),
            release_form=forms.get("release") or WindowMoneyForm(auto_id="id_release_%s"),
            close_form=forms.get("close") or WindowCloseForm(auto_id="id_close_%s"),
        )
    return render(request, "partners/window_detail.html", context)


@login_required
def window_form(request, pk=None):
    _require(rules.can_manage_windows(request.user))
    window = get_object_or_404(Window, pk=pk) if pk is not None else None
    initial = WindowForm.initial_for(window) if window else None
    form = WindowForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with service_errors_on(form):
            if window is None:
                window = services.window_create(user=request.user, **form.cleaned_data)
            else:
                window = services.window_update(
                    window=window, user=request.user, **form.cleaned_data
                )
        if not form.errors:
            messages.success(request, _("The window %(code)s was saved.") % {"code": window.code})
            return redirect("partners:window-detail", pk=window.pk)
    return render(request, "partners/window_form.html", {"form": form, "window": window})


def _approvers_of(window) -> list[dict]:
    return [
        {"user": a.user, "limit_usd": a.limit_usd}
        for a in window.approver_limits.select_related("user")
    ]


@login_required
@require_POST
def window_approver_set(request, pk):
    """Name an approver of the window with their limit (or change their limit)."""
    _require(rules.can_manage_windows(request.user))
    window = get_object_or_404(Window, pk=pk)
    form = ApproverForm(request.POST, auto_id="id_approver_%s")
    if form.is_valid():
        approvers = [a for a in _approvers_of(window) if a["user"] != form.cleaned_data["user"]]
        approvers.append(form.cleaned_data)
        with service_errors_on(form):
            services.window_update(window=window, user=request.user, approvers=approvers)
        if not form.errors:
            messages.success(
                request,
                _("%(user)s approves grants of %(code)s up to %(limit)s USD.")
                % {
                    "user": form.cleaned_data["user"].get_username(),
                    "code": window.code,
                    "limit": f"{form.cleaned_data['limit_usd']:,.2f}",
                },
            )
            return redirect(reverse("partners:window-detail", args=[pk]) + "#approvers")
    return window_detail(request, pk, forms={"approver": form})


@login_required
@require_POST
def window_approver_remove(request, pk, user_pk):
    _require(rules.can_manage_windows(request.user))
    window = get_object_or_404(Window, pk=pk)
    approvers = [a for a in _approvers_of(window) if a["user"].pk != user_pk]
    services.window_update(window=window, user=request.user, approvers=approvers)
    messages.success(request, _("The approver was removed."))
    return redirect(reverse("partners:window-detail", args=[pk]) + "#approvers")


WINDOW_MOVES = {
    "allocate": (services.window_allocate, WindowMoneyForm),
    "release": (services.window_release, WindowMoneyForm),
    "close": (services.window_close, WindowCloseForm),
}


@login_required
@require_POST
@once_per_form
def window_money(request, pk, move):
    """Allocate money to a window, release its unused money, or close it (each form
    records once: its one-time token)."""
    if move not in WINDOW_MOVES:
        raise Http404(_("No such action."))
    _require(rules.can_manage_windows(request.user))
    window = get_object_or_404(Window, pk=pk)
    service, form_class = WINDOW_MOVES[move]
    form = form_class(request.POST, auto_id=f"id_{move}_%s")
    if form.is_valid():
        with service_errors_on(form):
            movement = service(window=window, user=request.user, **form.cleaned_data)
        if not form.errors:
            messages.success(
                request,
                {
                    "allocate": _("%(amount)s USD was allocated to %(code)s."),
                    "release": _("%(amount)s USD of %(code)s was released to the fund."),
                    "close": _("%(code)s was closed; %(amount)s USD went back to the fund."),
                }[move]
                % {"amount": f"{movement.amount_usd:,.2f}", "code": window.code},
            )
            return redirect("partners:window-detail", pk=pk)
    return window_detail(request, pk, forms={move: form})


# --- The audit log ------------------------------------------------------------------------


@login_required
def audit_log(request):
    """Fund managers read the audit log: who changed what, when, from where, each field
    before and after; the API's filters (``AuditEntryFilter``), 50 entries a page."""
    _require(rules.can_read_audit_log(request.user))
    entries = selectors.audit_entries_visible_to(request.user).order_by("-at", "-id")
    filterset = AuditEntryFilter(request.GET or None, queryset=entries)
    labels = {
        "action": _("Action"),
        "model": _("Object type"),
        "object_id": _("Object id"),
        "actor": _("Actor"),
        "since": _("Since"),
        "until": _("Until"),
    }
    for name, label in labels.items():
        filterset.form.fields[name].label = label
    entries = filterset.qs if filterset.is_bound and filterset.is_valid() else entries
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "partners/audit_log.html", {"filterset": filterset, "page": page})
