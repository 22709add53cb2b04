"""Results: completion reports (what each exchange achieved) and results stories."""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from grants.models import CapacityOutcome, Grant
from partners.models import Country, Sector
from seetf.common.models import TimeStampedModel
from seetf.common.money import MONEY

# The six intermediate capacity outcomes, each a boolean column of the report, so that
# the Annex D table is a SUM per column in the database.
OUTCOME_FIELDS = list(CapacityOutcome.values)


class Rating(models.TextChoices):
    HS = "HS", _("Highly satisfactory")
    S = "S", _("Satisfactory")
    MS = "MS", _("Moderately satisfactory")
    MU = "MU", _("Moderately unsatisfactory")
    U = "U", _("Unsatisfactory")
    HU = "HU", _("Highly unsatisfactory")


class ConcreteResultKind(models.TextChoices):
    ACTION_PLAN = "action_plan", _("Action plan")
    PILOT_PROJECT = "pilot_project", _("Pilot project")
    POLICY_FRAMEWORK = "policy_framework", _("Policy framework")
    INSTITUTIONAL_REFORM = "institutional_reform", _("Institutional reform")
    INVESTMENT = "investment", _("Investment")
    NETWORK = "network", _("Network")
    OTHER = "other", _("Other")


class CompletionReport(TimeStampedModel):
    """The leader's report on what a grant's exchanges achieved.

    Edited while the grant is approved; submitting it completes the grant; a fund
    manager accepts it, after which the grant can be closed.
    """

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name="completion_report")
    raised_awareness = models.BooleanField(default=False)
    enhanced_knowledge_and_skills = models.BooleanField(default=False)
    improved_consensus_and_teamwork = models.BooleanField(default=False)
    strengthened_coalitions = models.BooleanField(default=False)
    enhanced_networks = models.BooleanField(default=False)
    increased_implementation_knowhow = models.BooleanField(default=False)
    participants = models.PositiveIntegerField(default=0)
    rating = models.CharField(max_length=2, choices=Rating.choices, blank=True)
    lessons = models.TextField(max_length=20000, blank=True)
    follow_up_needed = models.BooleanField(default=False, db_index=True)
    follow_up_description = models.TextField(max_length=5000, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(submitted_at__isnull=False),
                name="report_accepted_after_submitted",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(accepted_at__gte=F("submitted_at")),
                name="report_accepted_not_before_submitted",
            ),
        ]

    def __str__(self):
        return f"Completion report of {self.grant}"

    @property
    def outcomes_achieved(self) -> list[str]:
        return [name for name in OUTCOME_FIELDS if getattr(self, name)]


class ConcreteResult(models.Model):
    report = models.ForeignKey(
        CompletionReport, on_delete=models.CASCADE, related_name="concrete_results"
    )
    kind = models.CharField(max_length=32, choices=ConcreteResultKind.choices)
    description = models.TextField(max_length=2000)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.kind}: {self.description[:40]}"


class Outcome(models.Model):
    """One of the six intermediate capacity outcomes, as a row, so that stories can be
    tagged with them through a many-to-many and filtered alike on every database.
    Seeded by a data migration from ``CapacityOutcome``; not edited by users."""

    code = models.CharField(max_length=40, primary_key=True, choices=CapacityOutcome.choices)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name


class ResultsStory(TimeStampedModel):
    """A public page telling what a grant achieved, written in Markdown by fund managers.

    ``body_html`` is the sanitized rendering of ``body``, stored so that reads never
    render; it and ``search_vector`` are kept by the services in ``results.stories``
    on every write. ``search_vector`` (title weighted A, body B) is used on PostgreSQL
    only, where a GIN index on it is created by migration 0003 (not declared here, since
    SQLite cannot build that index); on SQLite it stays empty and search falls back to
    a plain substring match.
    """

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="results_stories")
    slug = models.SlugField(max_length=220, unique=True, editable=False)
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=50000, help_text=_("Markdown."))
    body_html = models.TextField(blank=True, editable=False)
    sectors = models.ManyToManyField(Sector, related_name="results_stories", blank=True)
    countries = models.ManyToManyField(Country, related_name="results_stories", blank=True)
    outcomes = models.ManyToManyField(Outcome, related_name="results_stories", blank=True)
    published = models.BooleanField(default=False, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = [F("published_at").desc(nulls_last=True), "-id"]
        verbose_name_plural = _("results stories")
        indexes = [models.Index(fields=["published", "-published_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(published=False) | Q(published_at__isnull=False),
                name="story_published_has_date",
            ),
        ]

    def __str__(self):
        return self.title


# --- After the exchange: follow-up needs and ex-post checks -----------------------------


class FollowUpKind(models.TextChoices):
    FURTHER_EXCHANGE = "further_exchange", _("Further exchange")
    TECHNICAL_ASSISTANCE = "technical_assistance", _("Technical assistance")
    IMPLEMENTATION_FINANCING = "implementation_financing", _("Implementation financing")
    INVESTMENT = "investment", _("Investment")
    OTHER = "other", _("Other")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status of a follow-up need", "Open")
    FINANCED = "financed", _("Financed")
    DROPPED = "dropped", _("Dropped")


# The most a need's estimate or another source's financing may say (USD): validation.
MAX_NEED_USD = Decimal("99999999999.99")


class FollowUpNeed(TimeStampedModel):
    """What a completion report says is needed to sustain the exchange's benefits (Box 3
    of the 2011 review), and what became of it: financed by a seetf follow-on grant,
    financed elsewhere (by whom, how much: money leveraged), or dropped (why).

    The leader writes the needs with the report (results.services.completion_report_save
    replaces them while the grant is approved, all still open); fund managers edit them
    and record their outcome (results.services.need_*). A need is financed once: the
    constraints below hold exactly one financing on a financed need, none on another.
    """

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="follow_up_needs")
    report = models.ForeignKey(
        CompletionReport, on_delete=models.CASCADE, related_name="follow_up_needs"
    )
    kind = models.CharField(max_length=32, choices=FollowUpKind.choices)
    description = models.TextField(max_length=2000)
    estimated_usd = models.DecimalField(**MONEY, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN, db_index=True
    )
    # The draft proposed from this need ("propose a follow-on"); once it is approved the
    # need is financed by it (results.receivers).
    proposed_grant = models.ForeignKey(
        Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="proposed_for_needs"
    )
    financed_by_grant = models.ForeignKey(
        Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="financed_needs"
    )
    financed_elsewhere_by = models.CharField(max_length=200, blank=True)
    financed_elsewhere_usd = models.DecimalField(**MONEY, null=True, blank=True)
    dropped_reason = models.TextField(max_length=2000, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["grant", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(estimated_usd__isnull=True) | Q(estimated_usd__gte=0),
                name="need_estimate_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(financed_elsewhere_usd__isnull=True) | Q(financed_elsewhere_usd__gte=0),
                name="need_elsewhere_not_negative",
            ),
            # Financed elsewhere: by whom and how much, together.
            models.CheckConstraint(
                condition=Q(financed_elsewhere_by="", financed_elsewhere_usd__isnull=True)
                | (~Q(financed_elsewhere_by="") & Q(financed_elsewhere_usd__isnull=False)),
                name="need_elsewhere_by_and_amount",
            ),
            # Financed: by a grant or elsewhere, never both; else neither.
            models.CheckConstraint(
                condition=(
                    Q(status="financed")
                    & (
                        (Q(financed_by_grant__isnull=False) & Q(financed_elsewhere_by=""))
                        | (Q(financed_by_grant__isnull=True) & ~Q(financed_elsewhere_by=""))
                    )
                )
                | (
                    ~Q(status="financed")
                    & Q(financed_by_grant__isnull=True, financed_elsewhere_by="")
                ),
                name="need_financed_once",
            ),
            models.CheckConstraint(
                condition=(Q(status="dropped") & ~Q(dropped_reason=""))
                | (~Q(status="dropped") & Q(dropped_reason="")),
                name="need_dropped_with_reason",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.grant}"


# The months after closing at which a grant is checked again (API.md).
EX_POST_MONTHS = (6, 12)
# What an ex-post check asks, each a boolean column: the sustained-results report sums them.
EX_POST_RESULTS = (
    "action_plan_adopted",
    "pilot_funded",
    "reform_enacted",
    "investment_made",
    "follow_up_financed",
)


class ExPostCheck(TimeStampedModel):
    """The leader's short answer 6 and 12 months after a grant closed: did the results
    last? Both rows are created when the grant is closed (results.receivers); the leader
    files each once, from its due date (results.services.ex_post_check_file)."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="ex_post_checks")
    months_after_close = models.PositiveSmallIntegerField()
    closed_on = models.DateField()
    due_on = models.DateField(db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action_plan_adopted = models.BooleanField(default=False)
    pilot_funded = models.BooleanField(default=False)
    reform_enacted = models.BooleanField(default=False)
    investment_made = models.BooleanField(default=False)
    follow_up_financed = models.BooleanField(default=False)
    evidence = models.TextField(max_length=5000, blank=True)
    notes = models.TextField(max_length=5000, blank=True)

    class Meta:
        ordering = ["grant_id", "months_after_close"]
        constraints = [
            models.UniqueConstraint(
                fields=["grant", "months_after_close"], name="ex_post_check_once"
            ),
            models.CheckConstraint(
                condition=Q(months_after_close__in=EX_POST_MONTHS), name="ex_post_months_known"
            ),
            models.CheckConstraint(
                condition=Q(due_on__gt=F("closed_on")), name="ex_post_due_after_close"
            ),
            models.CheckConstraint(
                condition=Q(submitted_at__isnull=True) | Q(submitted_by__isnull=False),
                name="ex_post_submitted_by_someone",
            ),
        ]

    def __str__(self):
        return f"{self.grant}: {self.months_after_close}-month check"


# --- Lessons with evidence -------------------------------------------------------------


class EvidenceLevel(models.TextChoices):
    """How much a lesson rests on (API.md, After the exchange): the leader's own word,
    what the participants answered on the feedback form, or a review by someone who
    took no part in the exchange."""

    SELF_REPORTED = "self_reported", _("Self-reported")
    PARTICIPANT_FEEDBACK = "participant_feedback", _("Participant feedback")
    INDEPENDENT_REVIEW = "independent_review", _("Independent review")


class LessonReview(models.TextChoices):
    """Where a lesson is in its review: written and waiting (``pending``), let through
    to the public hub by a fund manager (``approved``), or sent back to its leader with
    a comment (``returned``; editing it puts it back to ``pending``)."""

    PENDING = "pending", _("Waiting for review")
    APPROVED = "approved", _("Reviewed")
    RETURNED = "returned", pgettext_lazy("status of a lesson", "Returned for revision")


class Lesson(TimeStampedModel):
    """A lesson learned from a grant: what worked, what did not and why, the capacity
    outcomes it concerns and the evidence it rests on. Only an approved lesson reaches
    the public knowledge hub (``results.selectors.lessons_visible_to``)."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="lessons")
    completion_report = models.ForeignKey(
        CompletionReport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    what_worked = models.TextField(max_length=5000, blank=True)
    what_did_not = models.TextField(max_length=5000, blank=True)
    why = models.TextField(max_length=5000, blank=True)
    outcomes = models.ManyToManyField(Outcome, related_name="lessons", blank=True)
    evidence_level = models.CharField(
        max_length=24, choices=EvidenceLevel.choices, default=EvidenceLevel.SELF_REPORTED
    )
    review_status = models.CharField(
        max_length=16, choices=LessonReview.choices, default=LessonReview.PENDING
    )
    review_comment = models.TextField(max_length=5000, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where a loaded lesson came from ("review-2011:<grant title>", "report:<id>"), so
    # that loading again finds it instead of writing it twice. Empty for lessons written
    # by people.
    source = models.CharField(max_length=250, blank=True, editable=False)

    class Meta:
        ordering = [F("reviewed_at").desc(nulls_last=True), "-id"]
        indexes = [models.Index(fields=["review_status", "-reviewed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(what_worked="") | ~Q(what_did_not="") | ~Q(why=""),
                name="lesson_says_something",
            ),
            models.CheckConstraint(
                condition=Q(review_status="approved", reviewed_at__isnull=False)
                | ~Q(review_status="approved"),
                name="lesson_approved_has_date",
            ),
            models.UniqueConstraint(
                fields=["source"], condition=~Q(source=""), name="lesson_source_once"
            ),
        ]

    def __str__(self):
        text = self.what_worked or self.what_did_not or self.why
        return f"Lesson of {self.grant_id}: {text[:40]}"


# --- Participant feedback --------------------------------------------------------------


class FeedbackLink(models.Model):
    """A link a fund manager or a grant's leader opens for one exchange, for its
    participants to rate it without an account. Only the SHA-256 of its token is kept:
    the token is shown once, when the link is opened, and a stolen database gives no
    usable link."""

    exchange = models.ForeignKey(
        "grants.Exchange", on_delete=models.CASCADE, related_name="feedback_links"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Feedback link {self.pk} of exchange {self.exchange_id}"


RATING_RANGE = Q(relevance__gte=1, relevance__lte=5) & Q(usefulness__gte=1, usefulness__lte=5)


class FeedbackAnswer(models.Model):
    """One participant's answer, from one browser session: three ratings from 1 to 5
    and an optional comment. Nothing that names the participant is asked or kept (the
    session key only tells answers apart, and is not linked to any account)."""

    link = models.ForeignKey(FeedbackLink, on_delete=models.CASCADE, related_name="answers")
    # Denormalised from the link, so that the aggregates group by exchange in one scan.
    exchange = models.ForeignKey(
        "grants.Exchange", on_delete=models.CASCADE, related_name="feedback_answers"
    )
    relevance = models.PositiveSmallIntegerField()
    usefulness = models.PositiveSmallIntegerField()
    intention = models.PositiveSmallIntegerField(
        help_text=_("How far the participant intends to apply what was learned (1-5).")
    )
    comment = models.TextField(max_length=1000, blank=True)
    session_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["link", "session_key"], name="feedback_once_per_session"
            ),
            models.CheckConstraint(
                condition=RATING_RANGE & Q(intention__gte=1, intention__lte=5),
                name="feedback_ratings_1_to_5",
            ),
        ]

    def __str__(self):
        return f"Feedback {self.pk} on exchange {self.exchange_id}"
