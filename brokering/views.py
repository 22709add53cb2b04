"""Web pages of brokering, on the same services and selectors as the API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as FilterError

from grants.filters import filters_given
from seetf.common.datacache import cached
from seetf.common.errors import ApplicationError
from seetf.common.forms import quick_selects, service_errors_on

from . import scoring, selectors, services
from .api.views import OfferFilter
from .forms import OfferForm, RequestForm
from .models import Offer, RequestStatus
from .permissions import (
    can_edit_offer,
    can_edit_request,
    can_read_requests,
    can_see_contacts,
    can_write_offers,
    can_write_requests,
)

PAGE_SIZE = 25
CATALOGUE_FILTERS = {
    "search": gettext_lazy("Search"),
    "sector": gettext_lazy("Sector"),
    "category": gettext_lazy("DAC category (3 digits)"),
    "provider_country": gettext_lazy("Provider country"),
    "instrument": gettext_lazy("Instrument"),
    "language": gettext_lazy("Language (ISO 639-1)"),
}


def _require(answer):
    allowed, reason = answer
    if not allowed:
        raise PermissionDenied(reason)


# The catalogue's filters of model choices: some 330 sectors and countries.
KEPT_CHOICES = ("sector", "provider_country")


def _with_kept_choices(form):
    """The filters' sectors and countries as text, read and named once per data version
    (``seetf.common.datacache``; the key has the language): not 330 rows made into
    models on every view. The fields still check a chosen value against their queryset."""

    def build() -> dict:
        return {
            name: [(str(value), str(label)) for value, label in form.fields[name].choices]
            for name in KEPT_CHOICES
        }

    for name, choices in cached(("offer-catalogue-choices",), build).items():
        form.fields[name].widget.choices = choices
    return form


def offer_catalogue(request):
    """The public catalogue of published offers (fund managers and authors also see
    their drafts and withdrawn offers), searched and filtered like the API's list."""
    offers = selectors.offers_visible_to(request.user)
    filterset = OfferFilter(request.GET or None, queryset=offers)
    form = _with_kept_choices(quick_selects(filterset.form))
    for name, label in CATALOGUE_FILTERS.items():
        form.fields[name].label = label
    try:
        found = filterset.qs if filterset.is_bound else offers
        found = (
            selectors.with_capacity(found)
            .select_related("provider_country")
            .prefetch_related("sectors")
            .order_by("-id")
        )
        paginator = Paginator(found, PAGE_SIZE)
        if not filters_given(OfferFilter, request.GET):  # the whole catalogue: on an index
            paginator.count = selectors.offers_visible_count(request.user)
        page = paginator.get_page(request.GET.get("page"))
        errors = {}
    except FilterError as error:  # a filter refused its value (a bad language code)
        errors = error.detail
        page = Paginator(offers.none(), PAGE_SIZE).get_page(1)
    user = request.user
    return render(
        request,
        "brokering/offers.html",
        {
            "filter_fields": [form[name] for name in CATALOGUE_FILTERS],
            "page": page,
            "errors": errors,
            "show_contacts": can_see_contacts(user),
            "can_write": user.is_authenticated and can_write_offers(user)[0],
            "editable": {offer.pk for offer in page.object_list if can_edit_offer(user, offer)[0]},
        },
    )


@login_required
def offer_create(request):
    _require(can_write_offers(request.user))
    form = OfferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with service_errors_on(form), transaction.atomic():
            offer = services.offer_create(user=request.user, **form.cleaned_data)
            if "publish" in request.POST:
                services.offer_transition(offer=offer, user=request.user, action="publish")
        if not form.errors:
            messages.success(request, _("The offer was saved."))
            return redirect("brokering:offers")
    return render(request, "brokering/offer_form.html", {"form": form})


@login_required
@require_POST
def offer_action(request, pk, action):
    if action not in services.OFFER_TRANSITIONS:
        raise Http404
    offer = get_object_or_404(selectors.offers_visible_to(request.user), pk=pk)
    try:
        services.offer_transition(offer=offer, user=request.user, action=action)
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
    else:
        messages.success(request, _("The offer is now %(status)s.") % {"status": _(action)})
    return redirect("brokering:offers")


@login_required
def request_queue(request):
    """Open requests, the longest waiting first, with how long they have waited (the
    fund managers' view; every signed-in role reads requests)."""
    _require(can_read_requests(request.user))
    today = timezone.localdate()
    page = Paginator(selectors.open_requests_queue(), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"request": r, "waited": (today - timezone.localdate(r.created_at)).days}
        for r in page.object_list
    ]
    return render(
        request,
        "brokering/requests.html",
        {
            "page": page,
            "rows": rows,
            "can_write": can_write_requests(request.user)[0],
        },
    )


@login_required
def request_create(request):
    _require(can_write_requests(request.user))
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with service_errors_on(form):
            created = services.request_create(user=request.user, **form.cleaned_data)
        if not form.errors:
            messages.success(request, _("The request was saved: here are the offers it suggests."))
            return redirect("brokering:request", pk=created.pk)
    return render(request, "brokering/request_form.html", {"form": form})


@login_required
def request_detail(request, pk):
    """A request and its suggestions, best first, each with its reasons and, for its
    author and fund managers while it is open, an "Accept" button."""
    found = get_object_or_404(
        selectors.requests_visible_to(request.user)
        .select_related("recipient_country", "requested_by")
        .prefetch_related("sectors"),
        pk=pk,
    )
    suggestions = scoring.suggest(found)
    offers = {
        o.pk: o
        for o in selectors.with_capacity(
            Offer.objects.filter(pk__in=[s.offer_id for s in suggestions])
        )
        .select_related("provider_country")
        .prefetch_related("sectors")
    }
    match = getattr(found, "match", None) if found.status == RequestStatus.MATCHED else None
    return render(
        request,
        "brokering/request_detail.html",
        {
            "req": found,
            "match": match,
            "suggestions": [(s, offers[s.offer_id]) for s in suggestions],
            "can_match": found.status == RequestStatus.OPEN
            and can_edit_request(request.user, found)[0],
        },
    )


@login_required
@require_POST
def request_match(request, pk):
    found = get_object_or_404(selectors.requests_visible_to(request.user), pk=pk)
    chosen = str(request.POST.get("offer", ""))
    offer = (
        selectors.offers_visible_to(request.user).filter(pk=chosen).first()
        if chosen.isdigit() and len(chosen) < 19
        else None
    )
    if offer is None:
        messages.error(request, _("Choose one of the offers suggested."))
        return redirect("brokering:request", pk=found.pk)
    try:
        match = services.request_match(request=found, offer=offer, user=request.user)
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
        return redirect("brokering:request", pk=found.pk)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("brokering:request", pk=found.pk)
    messages.success(
        request,
        _("The offer was accepted: here is the draft grant, filled from both sides."),
    )
    return redirect("grants:detail", pk=match.grant_id)
