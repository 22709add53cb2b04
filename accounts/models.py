"""The durable login log: one append-only row per attempt to sign in, on the web (the
password, then the second factor) or for an API token, whatever its outcome.

django-axes keeps counters that a reset deletes; this table is never deleted from (the
triggers of migration 0002, ``seetf.common.appendonly``), and the per-address limit
across usernames is counted on it (``accounts.backends.AddressLimitBackend``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER_AGENT_LENGTH = 200


class LoginMethod(models.TextChoices):
    WEB = "web", _("web (password)")
    TOKEN = "token", _("API token")
    OTP = "otp", _("web (second factor)")


class LoginOutcome(models.TextChoices):
    SUCCESS = "success", _("success")
    FAILURE = "failure", _("failure")
    LOCKED = "locked", _("locked out")
    OTP_FAILED = "otp_failed", _("wrong second factor")


class LoginRecord(models.Model):
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    # What was typed (cut to the length of a username), and the user when one is known.
    username = models.CharField(_("username"), max_length=150, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # Append-only: the row is never updated, so a user who has signed in is kept
        # (deactivate them instead of deleting).
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user"),
    )
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=8, choices=LoginMethod.choices)
    outcome = models.CharField(_("outcome"), max_length=12, choices=LoginOutcome.choices)
    user_agent = models.CharField(_("user agent"), max_length=USER_AGENT_LENGTH, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The per-address limit: failures from one address since a time.
            models.Index(fields=["address", "at"], name="accounts_login_address_at"),
        ]
        verbose_name = _("login")
        verbose_name_plural = _("login log")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.method} {self.outcome}"


class UserPreference(models.Model):
    """A user's own choices: the language of their pages, API answers and e-mails (README
    "Languages"). Blank, or no row at all: the browser's (Accept-Language, the switcher's
    cookie) on the web, the site's default (English) in e-mails."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="preference",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Blank: follow the browser's language."),
    )

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self):
        return f"{self.user_id} {self.language or '-'}"
