"""What each user may read of signing in: fund managers the whole login log; everyone
their own API tokens."""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from partners.roles import is_fund_manager

from .models import LoginRecord, UserPreference


def logins_visible_to(user):
    if is_fund_manager(user):
        return LoginRecord.objects.select_related("user")
    return LoginRecord.objects.none()


def tokens_visible_to(user):
    if not user or not user.is_authenticated:
        return Token.objects.none()
    return Token.objects.filter(user=user).order_by("created")


def lockout_of(user) -> dict:
    """What stops this user signing in now: django-axes' failed logins for the username
    (from each address: ``locked`` once one address reached ``AXES_FAILURE_LIMIT``), and
    the wrong second-factor codes their devices throttle (django-otp)."""
    attempts = AccessAttempt.objects.filter(username=user.get_username())
    failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
    worst = max(attempts.values_list("failures_since_start", flat=True), default=0)
    throttled = sum(
        model.objects.filter(user=user, throttling_failure_count__gt=0).count()
        for model in (TOTPDevice, StaticDevice)
    )
    return {
        "failures": failures,
        "locked": worst >= settings.AXES_FAILURE_LIMIT,
        "throttled_devices": throttled,
    }


def saved_language(user) -> str:
    """The user's saved language ("" for none: follow the browser)."""
    if not user or not user.is_authenticated:
        return ""
    return UserPreference.objects.filter(user=user).values_list("language", flat=True).first() or ""


def saved_languages(user_ids) -> dict[int, str]:
    """The saved language of each of these users that saved one (``{pk: code}``)."""
    return dict(
        UserPreference.objects.filter(user_id__in=list(user_ids))
        .exclude(language="")
        .values_list("user_id", "language")
    )


def languages_by_email(emails) -> dict[str, str]:
    """The saved language of each address's user ("" when none is saved). An address
    shared by several active users takes the first saved one."""
    found: dict[str, str] = {}
    rows = (
        get_user_model()
        .objects.filter(email__in=set(emails), is_active=True)
        .exclude(preference__language="")
        .exclude(preference__isnull=True)
        .order_by("pk")
        .values_list("email", "preference__language")
    )
    for email, language in rows:
        found.setdefault(email, language)
    return found
