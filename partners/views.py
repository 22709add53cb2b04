"""The web pages of partners and money in: partners, contributions (pledges) and their
receipts, and the contributions table (Annex C). Fund managers record; every role reads.
Writes go through ``partners.services``, rules through ``partners.permissions``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
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
from .forms import ContributionForm, PartnerForm, ReceiptForm, ReversalForm, mark_reversals
from .models import Contribution, Partner

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
def contribution_form(request, pk=None):
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
