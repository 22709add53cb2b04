"""The API's exception handler: every error has one of the shapes API.md promises."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import ApplicationError

logger = logging.getLogger(__name__)


def _django_validation_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = _django_validation_to_drf(exc)
    elif isinstance(exc, IntegrityError):
        # A database constraint refused the write: the services' own checks should
        # have caught it first, so log it, but the client still gets a clear 409.
        logger.warning("Integrity error reached the API: %s", exc)
        return Response(
            {"detail": _("The change conflicts with data already recorded."), "code": "duplicate"},
            status=status.HTTP_409_CONFLICT,
        )
    elif isinstance(exc, OverflowError):
        # A number or date from the request beyond what the database or Python holds
        # (SQLite's integers end at 2**63 - 1, e.g. in an `id__in` filter): the request's
        # fault, so 400, not 500. Logged: a validator should have refused it first.
        logger.warning("Out-of-range value reached the API: %s", exc)
        exc = exceptions.ValidationError(
            {"non_field_errors": [_("A number or date in the request is out of range.")]}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException) and not isinstance(exc, exceptions.ValidationError):
        codes = exc.get_codes()
        if isinstance(response.data, dict) and isinstance(codes, str):
            response.data.setdefault("code", codes)
    return response
