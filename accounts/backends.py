"""A limit per client address across usernames (issue 14, point 5): django-axes locks a
username from an address; this refuses any login from an address that failed
``SEETF_ADDRESS_FAILURE_LIMIT`` times within the cool-off (``AXES_COOLOFF_TIME``),
whatever usernames it tried: spraying one password over many users is stopped. Counted
on the durable login log, so an axes reset does not lift it; it ends when the address has
not failed so often within the cool-off."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import client_address

from .services import address_failures


def address_locked(address: str | None) -> bool:
    if not address:
        return False
    limit = settings.SEETF_ADDRESS_FAILURE_LIMIT
    if not limit:
        return False
    since = timezone.now() - timedelta(hours=float(settings.AXES_COOLOFF_TIME))
    return address_failures(address=address, since=since) >= limit


class AddressLimitBackend:
    """First of AUTHENTICATION_BACKENDS: refuses (PermissionDenied, so no backend after it
    checks the password) a login from an address over its limit. It marks the request
    locked out as django-axes does, so the page and the token endpoint answer 429.

    It authenticates nobody and has no ``get_user`` (not a BaseBackend), so that a login
    is never recorded in the session as this backend's."""

    def authenticate(self, request, **credentials):
        if request is not None and address_locked(client_address(request)):
            request.seetf_address_locked = True
            request.axes_locked_out = True
            raise PermissionDenied(_("Too many failed logins from this address."))
        return None


def axes_client_ip(request) -> str:
    """django-axes' client address (AXES_CLIENT_IP_CALLABLE): the one the audit log
    records, from the trusted proxy header when one is configured."""
    return client_address(request) or ""
