"""The participants' feedback page, ``/feedback/<token>/`` (no login, made for a phone),
and the staff's "open a feedback link" form on the grant page.

The page asks three ratings and an optional comment, nothing that names anyone. One
answer per browser session (the session key; a second is refused politely), a rate
limit per client address (``audit.context.client_address``, counted by
``results.services.feedback_rate_limited``). An unknown token is a 404, an expired or
closed one a 410, with the same words and nothing of the exchange.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from audit.context import client_address
from grants.models import Exchange
from grants.selectors import visible_grant_or_404
from seetf.common.errors import ApplicationError
from seetf.common.forms import WebForm, apply_service_errors

from . import services
from .models import FeedbackAnswer

SCALE = [(n, str(n)) for n in range(1, 6)]
# Where the session remembers that it exists: Django gives an anonymous visitor a
# session key only once something is stored in it.
SESSION_MARK = "feedback"


class FeedbackForm(WebForm):
    relevance = forms.TypedChoiceField(
        label=_("How relevant was the exchange to your work? (1: not at all, 5: very)"),
        choices=SCALE,
        coerce=int,
        widget=forms.RadioSelect,
    )
    usefulness = forms.TypedChoiceField(
        label=_("How useful was what you learned? (1: not at all, 5: very)"),
        choices=SCALE,
        coerce=int,
        widget=forms.RadioSelect,
    )
    intention = forms.TypedChoiceField(
        label=_("How far do you intend to apply what you learned? (1: not at all, 5: fully)"),
        choices=SCALE,
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything else? (optional)"),
        required=False,
        max_length=services.FEEDBACK_COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Please do not write your name or other personal details."),
    )


def _closed(request, state):
    status = 404 if state == "unknown" else 410
    return render(request, "results/feedback_closed.html", status=status)


def _session_key(request) -> str:
    if request.session.session_key is None:
        request.session[SESSION_MARK] = True
        request.session.save()
    return request.session.session_key


def feedback_form(request, token):
    """The participants' form (GET), and their answer (POST, CSRF-checked)."""
    link, state = services.feedback_link_state(token)
    if link is None:
        return _closed(request, state)
    exchange = link.exchange
    key = request.session.session_key
    answered = bool(key) and FeedbackAnswer.objects.filter(link=link, session_key=key).exists()
    if request.method != "POST":
        if answered:
            return render(request, "results/feedback_thanks.html", {"again": True})
        return render(
            request, "results/feedback_form.html", {"form": FeedbackForm(), "exchange": exchange}
        )
    if answered:
        return render(request, "results/feedback_thanks.html", {"again": True}, status=409)
    if services.feedback_rate_limited(client_address(request)):
        return render(request, "results/feedback_busy.html", status=429)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.feedback_answer(
                link=link, session_key=_session_key(request), **form.cleaned_data
            )
        except ApplicationError:  # answered meanwhile, from another tab of this session
            return render(request, "results/feedback_thanks.html", {"again": True}, status=409)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return render(request, "results/feedback_thanks.html", {"again": False})
    return render(
        request, "results/feedback_form.html", {"form": form, "exchange": exchange}, status=400
    )


class FeedbackLinkForm(WebForm):
    days = forms.IntegerField(
        label=_("Open for (days)"), min_value=1, max_value=366, initial=30, required=False
    )


@login_required
@require_POST
def feedback_link_open(request, pk, exchange_pk):
    """A fund manager or the grant's leader opens a link from the grant page; the page
    that answers shows it, this once (only its hash is kept)."""
    grant = visible_grant_or_404(request.user, pk)
    exchange = get_object_or_404(
        Exchange.objects.select_related("grant"), pk=exchange_pk, grant=grant
    )
    form = FeedbackLinkForm(request.POST)
    try:
        services.feedback_link_check(exchange=exchange, user=request.user)
        if not form.is_valid():
            raise ApplicationError(_("Say for how many days, from 1 to 366."), code="invalid")
        link, token = services.feedback_link_open(
            exchange=exchange, user=request.user, days=form.cleaned_data["days"]
        )
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from None
        messages.error(request, error.message)
        return redirect(reverse("grants:detail", args=[grant.pk]) + "#feedback")
    url = request.build_absolute_uri(reverse("results:feedback", args=[token]))
    return render(
        request,
        "results/feedback_link_opened.html",
        {"grant": grant, "exchange": exchange, "link": link, "url": url},
    )
