"""Two gates every web request of a signed-in user passes (after django-otp's
OTPMiddleware, which tells ``request.user.is_verified()``):

- ``IdleTimeoutMiddleware``: a session unused for ``SEETF_SESSION_IDLE_MINUTES`` is
  ended (the next page asks to log in again; an API call with it is anonymous: 401). The
  last activity is written at most once a minute, so a page does not write its session on
  every request. ``SESSION_COOKIE_AGE`` still bounds a session however active.
- ``UserLanguageMiddleware`` (not a gate): a signed-in user's saved language wins over
  the switcher's cookie and the browser's Accept-Language that LocaleMiddleware read.
- ``TwoFactorMiddleware``: a user whose roles require a second factor, or who has one,
  reaches no page but the second-factor pages and logging out until they have given it
  in this session: sent to set one up (no device yet) or to type a code. The API answers
  for itself (``accounts.authentication.TwoFactorSessionAuthentication``).
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from . import selectors, services
from .policy import SESSION_HAS_DEVICE, needs_second_factor, two_factor_required
from .signals import SESSION_LAST_ACTIVITY

# How often, at most, the last activity is written to the session (seconds).
ACTIVITY_RESOLUTION = 60


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if session is not None and user is not None and user.is_authenticated:
            now = time.time()
            last = session.get(SESSION_LAST_ACTIVITY)
            idle = settings.SEETF_SESSION_IDLE_MINUTES * 60
            if idle and last is not None and now - last > idle:
                logout(request)
                if not request.path.startswith("/api/"):
                    messages.info(
                        request,
                        _("You were signed out after %(minutes)d minutes without activity.")
                        % {"minutes": settings.SEETF_SESSION_IDLE_MINUTES},
                    )
            elif last is None or now - last >= ACTIVITY_RESOLUTION:
                session[SESSION_LAST_ACTIVITY] = now
        return self.get_response(request)


def use_language(request, language: str) -> None:
    """Answer ``request`` in ``language`` (one of LANGUAGES; anything else is ignored)."""
    if language and language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class UserLanguageMiddleware:
    """After authentication: the signed-in user's saved language, read from the session
    (``accounts.services.SESSION_LANGUAGE``, written at login), so no page spends a query
    on it; a session from before the preference existed reads it once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if session is not None and user is not None and user.is_authenticated:
            if services.SESSION_LANGUAGE not in session:
                session[services.SESSION_LANGUAGE] = selectors.saved_language(user)
            use_language(request, session[services.SESSION_LANGUAGE])
        return self.get_response(request)


# Reached before the second factor is given: signing in and out, the second factor's
# own pages, the API (which answers for itself), static files, the probes and the
# language switcher.
OPEN_PREFIXES = ("/api/", "/static/", "/healthz", "/readyz", "/login/", "/logout/", "/i18n/")


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(OPEN_PREFIXES) and needs_second_factor(
            request, request.user
        ):
            if services.two_factor_enrolled(request.user):
                target = reverse("accounts:two-factor")
            elif two_factor_required(request.user):
                target = reverse("accounts:two-factor-setup")
            else:
                # Had one of their own accord, and it was reset since: none needed now.
                request.session[SESSION_HAS_DEVICE] = False
                return self.get_response(request)
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
