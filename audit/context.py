"""Who is acting and from where, for the audit entries a request's services write.

``AuditContextMiddleware`` keeps the request's client address (``client_address``: the
trusted proxy header when one is configured, else ``REMOTE_ADDR``) in a context variable
for the length of the request, so that a service records it without being handed the
request. Jobs and commands run with no address.
"""

from __future__ import annotations

import contextvars
import ipaddress
from contextlib import contextmanager

from django.conf import settings

_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_address", default=None)


def _valid(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's address. With ``SEETF_TRUSTED_PROXY_HEADER`` set (for example
    ``HTTP_X_FORWARDED_FOR``) and ``SEETF_TRUSTED_PROXY_COUNT`` proxies in front, the
    address the outermost trusted proxy saw (entries a client wrote itself further left
    are ignored); else ``REMOTE_ADDR``."""
    header = getattr(settings, "SEETF_TRUSTED_PROXY_HEADER", "")
    if header:
        count = max(1, int(getattr(settings, "SEETF_TRUSTED_PROXY_COUNT", 1)))
        hops = [hop.strip() for hop in request.META.get(header, "").split(",") if hop.strip()]
        if len(hops) >= count:
            found = _valid(hops[-count])
            if found:
                return found
    return _valid(request.META.get("REMOTE_ADDR"))


def current_address() -> str | None:
    return _address.get()


@contextmanager
def acting_from(address: str | None):
    token = _address.set(address)
    try:
        yield
    finally:
        _address.reset(token)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_from(client_address(request)):
            return self.get_response(request)
