"""`Idempotency-Key` for POSTs that record money (API.md Conventions).

A retry with the same key and body gets the first response again and writes nothing
more; the same key with another body gets 409 `duplicate`. Keys are per user and kept
for ``IDEMPOTENCY_KEY_TTL_HOURS`` (at least 24 hours).
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.response import Response

from .errors import ApplicationError
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID). A retry with the same key and body returns the "
        "first response and records nothing more; the same key with another body: "
        "409 `duplicate`. Kept at least 24 hours."
    ),
)


def _fingerprint(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, cls=DjangoJSONEncoder)
    except TypeError:
        body = repr(request.data)
    raw = f"{request.method}\n{request.path}\n{body}".encode()
    return hashlib.sha256(raw).hexdigest()


def _replay(record: IdempotencyKey, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise ApplicationError(
            "This Idempotency-Key was already used for a different request.", code="duplicate"
        )
    response = Response(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(request, handler) -> Response:
    """Run ``handler()`` (which returns a DRF Response) at most once per key.

    Without the header it simply runs the handler. Failed requests (an exception, or
    a response that is not 2xx) store nothing, so the client may retry them.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise exceptions.ValidationError(
            {
                HEADER: [
                    f"Give a non-empty key of at most {MAX_KEY_LENGTH} printable characters."
                ]
            }
        )
    fingerprint = _fingerprint(request)
    user = request.user
    expired_before = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)

    with transaction.atomic():
        IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=expired_before).delete()
        try:
            # A savepoint: if another request holds this key, the insert waits for it
            # (the unique index) and then fails here, and we replay its response.
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    fingerprint=fingerprint,
                    response_status=0,
                    response_body={},
                )
        except IntegrityError:
            record = None
        if record is not None:
            response = handler()
            if not 200 <= response.status_code < 300:
                transaction.set_rollback(True)
                return response
            record.response_status = response.status_code
            record.response_body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
            record.save(update_fields=["response_status", "response_body"])
            return response

    return _replay(IdempotencyKey.objects.get(user=user, key=key), fingerprint)


def purge_expired_idempotency_keys() -> int:
    """Delete keys past their time to live; returns how many."""
    expired_before = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expired_before).delete()
    return deleted
