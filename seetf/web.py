"""The web application's own pages: the home page of each role, signing in and out,
changing one's password, and the error pages in the site's layout.

Each app's selectors read their part of the home page (``grants.selectors``,
``results.selectors``); this module only puts the parts together for the roles the user
holds (a user may hold several).
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import requires_csrf_token
from django.views.i18n import JavaScriptCatalog

from analytics import cycletimes
from grants import selectors as grant_selectors
from partners.forms import PasswordChangeForm
from partners.roles import is_donor, is_fund_manager, is_task_team_leader, is_window_manager
from results import selectors as result_selectors

logger = logging.getLogger(__name__)


def home(request):
    """One page per role: the fund manager's desk, the leader's grants, the donor's
    summary, the window manager's windows and queue; the public sees the knowledge hub's
    latest stories."""
    user = request.user
    context = {"sections": []}
    if not user.is_authenticated:
        context["latest_stories"] = result_selectors.latest_stories(user)
        return render(request, "home_public.html", context)
    if is_fund_manager(user):
        context["manager"] = grant_selectors.manager_home(user)
        # The grants overdue against the service standards, the oldest first (one query,
        # for the first of them only: one more than shown says whether there are more),
        # compiled once for the users who see the same grants (not a leader's own).
        visibility = grant_selectors.visibility_key(user)
        overdue = cycletimes.overdue_against_standards(
            grant_selectors.grants_visible_to(user),
            limit=grant_selectors.HOME_LIMIT + 1,
            shared=None if visibility.startswith("user:") else visibility,
        )
        context["manager"]["overdue_standards"] = overdue[: grant_selectors.HOME_LIMIT]
        context["manager"]["more_overdue_standards"] = len(overdue) > grant_selectors.HOME_LIMIT
    if is_task_team_leader(user):
        context["leader"] = grant_selectors.leader_home(user)
    if is_donor(user):
        context["donor"] = result_selectors.donor_home(user)
    if is_window_manager(user) and not is_fund_manager(user):
        context["window_manager"] = grant_selectors.window_manager_home(user)
    return render(request, "home.html", context)


class LoginView(auth_views.LoginView):
    """Django's login (its form passes the request to ``authenticate``, as django-axes
    needs to count failures per username and address)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Logging out is a POST (a link could be followed by anything that fetches it)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, _("You are logged out."))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, its form saving through the service that also ends the
    user's API tokens (``partners.services.user_password_change``)."""

    form_class = PasswordChangeForm
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response


# --- Error pages ------------------------------------------------------------------------
# The API keeps its JSON errors (API.md): a path under /api/ that matches no route gets
# a JSON body, like every other API error; pages get the site's layout.


# The scripts' catalogue (locale/<lang>/LC_MESSAGES/djangojs.po) and Django's formats, in
# the language its URL names: a page of another language asks for another URL, so a
# browser may keep each for an hour. Only the project's catalogues (LOCALE_PATHS).
_javascript_catalog = JavaScriptCatalog.as_view(packages=["seetf.common"])


@cache_control(public=True, max_age=3600)
def javascript_catalog(request, language):
    if language not in dict(settings.LANGUAGES):
        raise Http404
    with translation.override(language):
        return _javascript_catalog(request)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


@requires_csrf_token
def page_not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return render(request, "404.html", status=404)


@requires_csrf_token
def permission_denied(request, exception=None):
    reason = str(exception) if exception is not None else ""
    if _is_api(request):
        return JsonResponse(
            {"detail": reason or "Forbidden.", "code": "permission_denied"}, status=403
        )
    return render(request, "403.html", {"reason": reason}, status=403)


@requires_csrf_token
def server_error(request):
    """Rendered without the request's context: whatever failed (the database, a
    context processor, the session) must not fail this page too."""
    if _is_api(request):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    try:
        return HttpResponseServerError(loader.get_template("500.html").render())
    except Exception:  # noqa: BLE001 - the last resort must not raise
        logger.exception("The 500 page could not be rendered.")
        return HttpResponseServerError("<h1>Server error (500)</h1>", content_type="text/html")


def bad_request(request, exception=None):
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            # Beyond DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): documented on every write.
            return JsonResponse(
                {"detail": _("The request body is too large."), "code": "too_large"}, status=413
            )
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return render(request, "400.html", status=400)
