"""Web pages of collaboration, on the same services and selectors as the API: the
comment form of a grant's discussion, the notifications page and its preferences, the
calendar page and the iCalendar feed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from grants.selectors import visible_grant_or_404
from seetf.common.forms import service_errors_on
from seetf.common.idempotency import once_per_form

from . import calendars, selectors, services
from .forms import CommentForm, PreferencesForm
from .models import CalendarFeed
from .permissions import can_discuss

PAGE_SIZE = 50


@login_required
@require_POST
@once_per_form
def comment_create(request, pk):
    """The grant page's comment form: the grant's 404 first, then who may take part."""
    grant = visible_grant_or_404(request.user, pk)
    allowed, reason = can_discuss(request.user, grant)
    if not allowed:
        raise PermissionDenied(reason)
    form = CommentForm(request.POST)
    if form.is_valid():
        with service_errors_on(form):
            comment = services.comment_create(
                grant=grant, user=request.user, body=form.cleaned_data["body"]
            )
        if not form.errors:
            messages.success(request, _("Your comment was added."))
            return redirect(reverse("grants:detail", args=[grant.pk]) + f"#comment-{comment.pk}")
    for error in form.errors.get("body", []) + form.non_field_errors():
        messages.error(request, error)
    return redirect(reverse("grants:detail", args=[grant.pk]) + "#discussion")


@login_required
def notifications(request):
    """The user's notifications, newest first, the unread marked; mark one or all read."""
    rows = selectors.notifications_visible_to(request.user).select_related("grant")
    if request.GET.get("unread") == "1":
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "collaboration/notifications.html",
        {"page": page, "only_unread": request.GET.get("unread") == "1"},
    )


@login_required
@require_POST
def notifications_read(request):
    """Mark read the notification the form names (``id``), or all of them."""
    raw = request.POST.get("id", "")
    ids = [int(raw)] if raw.isdigit() and len(raw) < 19 else None
    if raw and ids is None:
        raise Http404
    count = services.notifications_mark_read(user=request.user, ids=ids)
    if ids is None:
        messages.success(request, _("%(n)s notification(s) marked read.") % {"n": count})
    target = request.POST.get("next", "")
    if ids and target.startswith("/") and url_has_allowed_host_and_scheme(target, None):
        return redirect(target)
    return redirect("collaboration:notifications")


@login_required
def preferences(request):
    """Per kind of notification: e-mail at once, in a daily digest, or never."""
    current = selectors.preferences_of(request.user)
    form = PreferencesForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        with service_errors_on(form):
            services.preferences_set(user=request.user, preferences=form.cleaned_data)
        if not form.errors:
            messages.success(request, _("Your e-mail choices were saved."))
            return redirect("collaboration:preferences")
    return render(request, "collaboration/preferences.html", {"form": form})


@login_required
def calendar(request):
    """What is due: a month back to a year ahead, and the address of the user's feed."""
    today = timezone.localdate()
    entries = calendars.calendar_entries(
        request.user, start=today - calendars.PAGE_BEHIND, end=today + calendars.PAGE_AHEAD
    )
    feed = services.calendar_feed_for(request.user)
    feed_url = request.build_absolute_uri(reverse("collaboration:calendar-feed", args=[feed.token]))
    return render(
        request,
        "collaboration/calendar.html",
        {"entries": entries, "today": today, "feed_url": feed_url},
    )


@login_required
@require_POST
def calendar_feed_reset(request):
    services.calendar_feed_reset(user=request.user)
    messages.success(request, _("Your calendar has a new address; the old one no longer works."))
    return redirect("collaboration:calendar")


@require_GET
def calendar_feed(request, token):
    """The iCalendar feed at its secret address, no login (calendar programs have none):
    an unknown or reset token, or a user no longer active, is a 404."""
    feed = get_object_or_404(
        CalendarFeed.objects.select_related("user"), token=token, user__is_active=True
    )
    body = calendars.ics(feed.user, today=timezone.localdate(), stamp=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="seetf.ics"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
