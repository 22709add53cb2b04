"""How a refused or failed request is shown and logged.

- Expected refusals (401, 403, 404, 405, any 4xx) are logged by ``django.request`` in one
  line: ``RefusalsInOneLine`` drops the traceback Django attaches to a raised
  ``PermissionDenied`` or ``Http404``. A 500 keeps its traceback.
- Under DEBUG (the demo, `make run`), ``SiteErrorPagesMiddleware`` answers a 404 and a 500
  with the site's own pages (the URLconf's handler404 and handler500, as in production)
  instead of Django's technical pages, which list every URL pattern and the settings. The
  rest of DEBUG stays as it is.
"""

import logging

from django.conf import settings
from django.core import signals
from django.core.exceptions import (
    BadRequest,
    MiddlewareNotUsed,
    PermissionDenied,
    SuspiciousOperation,
)
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, get_resolver, resolve
from django.utils.log import log_response


class RefusalsInOneLine(logging.Filter):
    """A filter for ``django.request``: a 4xx record loses its traceback (it is the
    client's refusal, not a fault of the code), a 5xx keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class SiteErrorPagesMiddleware:
    """Under DEBUG only (without it Django already calls the handlers): the site's 404 for
    a path no URL pattern matches and for a view's ``Http404``, its 500 for a view's
    uncaught exception (logged with its traceback, once). Placed after CommonMiddleware,
    so that APPEND_SLASH still redirects a path missing its slash."""

    def __init__(self, get_response):
        if not settings.DEBUG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        urlconf = getattr(request, "urlconf", None)
        try:
            resolve(request.path_info, urlconf)
        except Resolver404 as exc:
            return self._not_found(request, exc)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return self._not_found(request, exception)
        if not _is_uncaught(exception):
            return None  # Django's own answer (403, 400), the same as in production
        # What Django does for an uncaught exception, with the site's page: the signal
        # (the test client and error trackers listen), the traceback logged once.
        signals.got_request_exception.send(sender=None, request=request)
        response = _resolver(request).resolve_error_handler(500)(request)
        log_response(
            "%s: %s",
            response.reason_phrase,
            request.path,
            response=response,
            request=request,
            exception=exception,
        )
        return response

    def _not_found(self, request, exception):
        # Logged once, in one line, by Django's handler when the response goes out.
        return _resolver(request).resolve_error_handler(404)(request, exception)


def _resolver(request):
    return get_resolver(getattr(request, "urlconf", None))


# What Django answers itself with the URLconf's handlers (or a 400), DEBUG or not.
ANSWERED = (PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError)


def _is_uncaught(exception: Exception) -> bool:
    return not isinstance(exception, ANSWERED)
