"""Every login and every failure into the login log, on the web and for API tokens
(django.contrib.auth's signals: ``login()`` sends ``user_logged_in``, and
``authenticate()`` sends ``user_login_failed`` whatever refused it: a wrong password,
django-axes' lockout, the per-address limit).

A web login also starts the session's idle clock and notes whether the user has a
second factor (``accounts.policy``)."""

import time

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django_otp import user_has_device

from audit.context import client_address

from . import selectors, services
from .models import LoginMethod, LoginOutcome
from .policy import SESSION_HAS_DEVICE

SESSION_LAST_ACTIVITY = "seetf_last_activity"


def _method(request) -> str:
    path = getattr(request, "path", "") or ""
    return LoginMethod.TOKEN if path.startswith("/api/") else LoginMethod.WEB


def _address(request) -> str | None:
    return client_address(request) if request is not None else None


def _agent(request) -> str:
    meta = getattr(request, "META", None) or {}
    return meta.get("HTTP_USER_AGENT", "")


@receiver(user_logged_in, dispatch_uid="accounts_login_success")
def _logged_in(sender, request, user, **kwargs):
    method = _method(request)
    services.login_record(
        username=user.get_username(),
        user=user,
        address=_address(request),
        method=method,
        outcome=LoginOutcome.SUCCESS,
        user_agent=_agent(request),
    )
    session = getattr(request, "session", None)
    if method == LoginMethod.WEB and session is not None:
        session[SESSION_LAST_ACTIVITY] = time.time()
        session[SESSION_HAS_DEVICE] = user_has_device(user)
        # The saved language, kept in the session so that pages do not read it again.
        session[services.SESSION_LANGUAGE] = selectors.saved_language(user)


@receiver(user_login_failed, dispatch_uid="accounts_login_failure")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")
    refused = getattr(request, "axes_locked_out", False) or getattr(
        request, "seetf_address_locked", False
    )
    services.login_record(
        username=username,
        user=get_user_model().objects.filter(username=username).first() if username else None,
        address=_address(request),
        method=_method(request),
        outcome=LoginOutcome.LOCKED if refused else LoginOutcome.FAILURE,
        user_agent=_agent(request),
    )
