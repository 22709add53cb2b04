"""A grant's discussion, the notifications that tell people something needs them, their
e-mail preferences, and the secret address of each user's calendar feed."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grants.models import Grant


class Comment(models.Model):
    """One message of a grant's discussion. Never edited nor deleted (no service does
    either, and the admin is read-only): a correction is a new comment."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grant_comments"
    )
    body = models.TextField(max_length=10000)
    # Rendered and sanitised once, when written (results.markdown, as stories are).
    body_html = models.TextField(editable=False)
    # The @username mentions that named a participant of the discussion.
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="grant_comment_mentions", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["grant", "created_at"], name="comment_grant_created")]

    def __str__(self):
        return f"Comment {self.pk} on grant {self.grant_id} by {self.author_id}"


class NotificationKind(models.TextChoices):
    SUBMITTED = "submitted", _("A proposal was submitted")
    RETURNED = "returned", _("A proposal was returned for revision")
    REJECTED = "rejected", _("A proposal was rejected")
    APPROVED = "approved", _("A proposal was approved")
    DISBURSEMENT = "disbursement", _("A disbursement was recorded")
    REPORT_SUBMITTED = "report_submitted", _("A completion report was submitted")
    REPORT_ACCEPTED = "report_accepted", _("A completion report was accepted")
    MENTION = "mention", _("You were mentioned in a discussion")
    COMMENT = "comment", _("A comment on a grant you lead or decide")


class Delivery(models.TextChoices):
    IMMEDIATELY = "immediately", _("E-mail me at once")
    DAILY = "daily", _("In a daily digest")
    NEVER = "never", _("Never by e-mail")


class Notification(models.Model):
    """Something a user is told of: in the page header until read, and by e-mail as
    their preference for its kind said when it was made (``delivery``).

    Exactly once by e-mail: a pending row (``emailed_at`` empty) is sent inside a
    transaction that holds its row lock and sets ``emailed_at``
    (``collaboration.delivery``); a send that fails rolls back and leaves it pending for
    the next run.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    grant = models.ForeignKey(
        Grant, on_delete=models.CASCADE, related_name="notifications", null=True, blank=True
    )
    text = models.TextField(max_length=6000)
    # A link within the site (a path), for the header list and the e-mail.
    path = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    delivery = models.CharField(max_length=12, choices=Delivery.choices)
    emailed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The header's unread count, on every page.
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
            # What the e-mail jobs still have to send.
            models.Index(
                fields=["delivery", "created_at"],
                condition=Q(emailed_at__isnull=True) & ~Q(delivery="never"),
                name="notification_pending_mail",
            ),
        ]

    def __str__(self):
        return f"{self.kind} for {self.user_id}"


class NotificationPreference(models.Model):
    """How a user wants one kind of notification by e-mail; without a row, at once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    delivery = models.CharField(max_length=12, choices=Delivery.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self):
        return f"{self.user_id}: {self.kind} {self.delivery}"


class CalendarFeed(models.Model):
    """The secret token of a user's iCalendar feed (``/calendar/<token>.ics``). Reset
    from the calendar page: a new token, and the old address answers 404."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Calendar feed of {self.user_id}"
