"""`Idempotency-Key` for POSTs that record money (API.md Conventions).

A retry with the same key and body gets the first response again and writes nothing
more; the same key with another body gets 409 `duplicate`. Keys are per user and kept
for ``IDEMPOTENCY_KEY_TTL_HOURS`` (at least 24 hours).
"""

import functools
import hashlib
import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import BadRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext
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
            gettext("This Idempotency-Key was already used for a different request."),
            code="duplicate",
        )
    response = Response(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def _claim(user, key: str, fingerprint: str) -> IdempotencyKey | None:
    """The key's new row, or None when another request holds it (then replay its answer).
    A savepoint: if another request holds this key, the insert waits for it (the unique
    index) and then fails here."""
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                user=user, key=key, fingerprint=fingerprint, response_status=0, response_body={}
            )
    except IntegrityError:
        return None


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
                    gettext(
                        "Give a non-empty key of at most %(max_key_length)s printable characters."
                    )
                    % {"max_key_length": MAX_KEY_LENGTH}
                ]
            }
        )
    fingerprint = _fingerprint(request)
    user = request.user
    expired_before = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)

    with transaction.atomic():
        IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=expired_before).delete()
        record = _claim(user, key, fingerprint)
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


# --- The web's money forms --------------------------------------------------------------
# Each money form carries a one-time token (the hidden field FORM_FIELD, made per rendered
# form by the ``once_token`` template tag), kept in the same store as an Idempotency-Key,
# under "form:<token>" for its user: a repeated post of the same form (a double click, a
# re-post after "back") gets the first answer again, its redirect and its messages, and
# writes nothing more. A post without a token, or with one the site did not make, is a
# fresh key and runs once; the same token never writes twice.

FORM_FIELD = "once"
FORM_TOKEN_MAX_LENGTH = 64


def form_once_token() -> str:
    return secrets.token_urlsafe(24)


def once_per_form(view):
    """Decorate a web view that records money: it runs at most once per form token.

    Only an accepted form (a redirect) is kept, with the messages the view added; a form
    shown again with its errors keeps nothing, so it may be corrected and posted again."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        token = request.POST.get(FORM_FIELD, "").strip()
        if not token or len(token) > FORM_TOKEN_MAX_LENGTH or not token.isprintable():
            return view(request, *args, **kwargs)
        key = f"form:{token}"
        fingerprint = hashlib.sha256(f"WEB {request.path}".encode()).hexdigest()
        storage = messages.get_messages(request)
        with transaction.atomic():
            record = _claim(request.user, key, fingerprint)
            if record is not None:
                queued = len(storage._queued_messages)
                response = view(request, *args, **kwargs)
                if not 300 <= response.status_code < 400:
                    transaction.set_rollback(True)
                    return response
                record.response_status = response.status_code
                record.response_body = {
                    "location": response["Location"],
                    "messages": [
                        [message.level, str(message.message)]
                        for message in storage._queued_messages[queued:]
                    ],
                }
                record.save(update_fields=["response_status", "response_body"])
                return response
        record = IdempotencyKey.objects.get(user=request.user, key=key)
        if record.fingerprint != fingerprint or not record.response_status:
            raise BadRequest(
                gettext("This form's one-time token was already used for another form.")
            )
        for level, text in record.response_body["messages"]:
            messages.add_message(request, level, text)
        return HttpResponseRedirect(record.response_body["location"])

    return wrapper
