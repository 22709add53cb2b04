"""Signing in: the login log, the second factor (TOTP and recovery codes, django-otp's
devices) and the API tokens' lifetime.

Writes are keyword-only and atomic, as every app's services; a second factor reset (a
change of what protects an account) is audited.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from audit.services import audit_record

from .models import USER_AGENT_LENGTH, LoginMethod, LoginOutcome, LoginRecord, UserPreference

logger = logging.getLogger(__name__)

RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"


# --- The login log ------------------------------------------------------------------------


def login_record(
    *,
    username: str,
    user=None,
    address: str | None,
    method: str,
    outcome: str,
    user_agent: str = "",
) -> LoginRecord:
    """Append one attempt to the login log (never updated nor deleted)."""
    return LoginRecord.objects.create(
        username=(username or "")[:150],
        user=user if getattr(user, "pk", None) else None,
        address=address,
        method=LoginMethod(method),
        outcome=LoginOutcome(outcome),
        user_agent=(user_agent or "")[:USER_AGENT_LENGTH],
    )


def address_failures(*, address: str, since) -> int:
    """Failed and refused logins from an address since a time, whatever the usernames."""
    return LoginRecord.objects.filter(
        address=address,
        at__gte=since,
        outcome__in=[LoginOutcome.FAILURE, LoginOutcome.LOCKED],
    ).count()


# --- Second factor ------------------------------------------------------------------------


def confirmed_totp(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def two_factor_enrolled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@transaction.atomic
def two_factor_setup(*, user) -> TOTPDevice:
    """The authenticator being set up for the user: an unconfirmed TOTP device, the same
    one (the same secret) until it is confirmed, so that reloading the page does not
    invalidate what the app was given."""
    pending = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    return pending or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def _code(code: str) -> str:
    return re.sub(r"\s+", "", code or "").lower()


@transaction.atomic
def two_factor_confirm(*, user, device: TOTPDevice, code: str) -> list[str]:
    """Confirm an authenticator with a code it shows; returns the user's new recovery
    codes (shown once). A wrong code: ValidationError on ``code``, nothing changed."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if not device.verify_token(_code(code)):
        raise ValidationError(
            {"code": [_("That code is not the one the app shows now. Type the current one.")]}
        )
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_renew(user=user)
    audit_record(actor=user, action="user.two_factor_enrol", obj=user)
    return codes


@transaction.atomic
def recovery_codes_renew(*, user) -> list[str]:
    """Ten new one-time recovery codes for the user; the old ones stop working."""
    device, _created = StaticDevice.objects.select_for_update().get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


class CodeRefused(Exception):
    """A second factor that did not verify: ``wait`` seconds before the next try (the
    device's throttle, django-otp), or 0 for a plain wrong code."""

    def __init__(self, wait: int = 0):
        super().__init__(wait)
        self.wait = wait


def _wait_of(device) -> int:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return 0
    until = (data or {}).get("locked_until")
    return max(1, int((until - timezone.now()).total_seconds())) if until else 1


def two_factor_verify(*, user, code: str):
    """The device that accepts this code: the authenticator's current code (6 digits), or
    one of the recovery codes (used up once used). Each device throttles wrong codes
    (django-otp: 1, 2, 4, 8... seconds, kept in the database across sessions): while it
    waits, even a right code is refused. Raises ``CodeRefused``."""
    code = _code(code)
    with transaction.atomic():
        if code.isdigit():
            devices = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
        else:
            devices = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True)
        wait = 0
        for device in devices:
            wait = _wait_of(device)
            if wait:
                continue
            if device.verify_token(code):
                return device
            wait = 0
    raise CodeRefused(wait)


@transaction.atomic
def two_factor_reset(*, user, by, reason: str = "") -> int:
    """Remove the user's authenticator and recovery codes (a lost phone): at their next
    sign-in they set up a new one, if their roles require it. Audited. Returns how many
    devices were removed."""
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    removed += StaticDevice.objects.filter(user=user).delete()[0]
    audit_record(actor=by, action="user.two_factor_reset", obj=user, reason=reason)
    logger.info("Second factor of user %s (id %s) reset by %s", user, user.pk, by)
    return removed


@transaction.atomic
def account_unlock(*, user, by, reason: str) -> dict:
    """A fund manager lifts a user's lockout: django-axes' failed logins for the username
    are removed (from every address) and the throttles of the user's second-factor
    devices reset, so the next right password and code sign them in. The login log
    keeps every failure (it is never deleted from); the limit per address
    (``accounts.backends``) is the address's, not the user's, and stays. Audited
    (``user.unlock``, with the reason). Returns what was lifted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the account is unlocked.")]})
    removed = axes_reset(username=user.get_username())
    devices = 0
    for model in (TOTPDevice, StaticDevice):
        for device in model.objects.select_for_update().filter(
            user=user, throttling_failure_count__gt=0
        ):
            device.throttle_reset(commit=True)
            devices += 1
    lifted = {"failed_logins": removed, "throttled_devices": devices}
    audit_record(
        actor=by,
        action="user.unlock",
        obj=user,
        changes={name: [value, 0] for name, value in lifted.items()},
        reason=reason,
    )
    logger.info("User %s (id %s) unlocked by %s: %s", user, user.pk, by, lifted)
    return lifted


# --- API tokens ---------------------------------------------------------------------------


def token_lifetime() -> timedelta:
    return timedelta(hours=settings.SEETF_TOKEN_LIFETIME_HOURS)


def token_expires(token: Token):
    return token.created + token_lifetime()


def token_expired(token: Token) -> bool:
    return timezone.now() >= token_expires(token)


@transaction.atomic
def token_issue(*, user) -> Token:
    """The user's API token (DRF's Token: one per user): the one they have while it is
    within its lifetime (``SEETF_TOKEN_LIFETIME_HOURS``), else a new one."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and token_expired(token):
        token.delete()
        token = None
    return token or Token.objects.create(user=user)


# --- The language --------------------------------------------------------------------------
# A signed-in web session keeps its user's saved language here (written at login and
# whenever the user changes it), so that no page spends a query on it.
SESSION_LANGUAGE = "seetf_language"


def language_set(*, user, language: str, session=None) -> str:
    """Save ``user``'s language ("" to follow the browser again); a code not in
    LANGUAGES is refused (ValidationError, nothing written). Kept in ``session`` too."""
    codes = {code for code, _name in settings.LANGUAGES}
    if language and language not in codes:
        raise ValidationError(
            _("%(language)s is not a language of the site.") % {"language": language},
            code="invalid_language",
        )
    UserPreference.objects.update_or_create(user=user, defaults={"language": language})
    if session is not None:
        session[SESSION_LANGUAGE] = language
    return language
