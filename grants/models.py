"""Grants: proposals for knowledge exchanges, their decisions, exchanges and money out."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from partners.models import (
    Country,
    Partner,
    Region,
    ReversibleEntry,
    Sector,
    Window,
    reversal_sign_constraint,
)
from seetf.common.models import TimeStampedModel
from seetf.common.money import MONEY, ZERO
from seetf.common.timestamps import fund_date

# The largest grant a proposal may request (API validation: beyond it is a 400).
MAX_GRANT_USD = Decimal("10000000.00")


class GrantStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    RETURNED = "returned", pgettext_lazy("status of a grant", "Returned for revision")
    REJECTED = "rejected", _("Rejected")
    APPROVED = "approved", _("Approved")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", pgettext_lazy("status of a grant", "Closed")
    CANCELLED = "cancelled", _("Cancelled")


# Approved and later: what donors see and what leaders see of others' grants.
APPROVED_AND_LATER = (
    GrantStatus.APPROVED,
    GrantStatus.COMPLETED,
    GrantStatus.CLOSED,
    GrantStatus.CANCELLED,
)
PIPELINE_STATUSES = (GrantStatus.SUBMITTED, GrantStatus.UNDER_REVIEW)
# What a follow-on or repeat grant may grow from: an exchange that has been held and
# reported on (API.md, After the exchange).
PARENT_STATUSES = (GrantStatus.COMPLETED, GrantStatus.CLOSED)


class GrantRelation(models.TextChoices):
    """How a grant follows its ``parent``: a follow-on takes the same reform further
    (Box 3 of the 2011 review: benefits fade without follow-up); a repeat holds the same
    exchange again for other officials."""

    FOLLOW_ON = "follow_on", _("Follow-on")
    REPEAT = "repeat", _("Repeat")


class CapacityOutcome(models.TextChoices):
    """The six intermediate capacity outcomes (Capacity Development Results Framework)."""

    RAISED_AWARENESS = "raised_awareness", _("Raised awareness")
    ENHANCED_KNOWLEDGE_AND_SKILLS = (
        "enhanced_knowledge_and_skills",
        _("Enhanced knowledge and skills"),
    )
    IMPROVED_CONSENSUS_AND_TEAMWORK = (
        "improved_consensus_and_teamwork",
        _("Improved consensus and teamwork"),
    )
    STRENGTHENED_COALITIONS = "strengthened_coalitions", _("Strengthened coalitions")
    ENHANCED_NETWORKS = "enhanced_networks", _("Enhanced networks")
    INCREASED_IMPLEMENTATION_KNOWHOW = (
        "increased_implementation_knowhow",
        _("Increased implementation know-how"),
    )


class GrantQuerySet(models.QuerySet):
    def committed(self):
        """Grants whose approval holds money: approved and not cancelled."""
        return self.filter(approved_usd__isnull=False)

    def in_pipeline(self):
        return self.filter(status__in=PIPELINE_STATUSES)


class Grant(TimeStampedModel):
    reference = models.CharField(
        max_length=16,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text=_("SEETF-YYYY-NNNN, assigned at first submission and never reused."),
    )
    title = models.CharField(max_length=200)
    summary = models.TextField(max_length=5000, blank=True)
    task_team_leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_grants",
        editable=False,
    )
    # A draft may lack what follows (a proposal half written is kept); the submission
    # requires it (grants.workflow ``proposal_complete``), and the database refuses a
    # grant past draft without it (``grant_complete_once_submitted``).
    sector = models.ForeignKey(
        Sector, null=True, blank=True, on_delete=models.PROTECT, related_name="grants"
    )
    region = models.CharField(max_length=3, choices=Region.choices, blank=True)
    recipient_countries = models.ManyToManyField(Country, related_name="grants_received")
    provider_countries = models.ManyToManyField(Country, related_name="grants_provided", blank=True)
    # Derived: the partners holding the ``facilitator`` role (GrantPartnerRole), kept by
    # grants.services in the transaction that writes the roles, so that the clients and
    # reports reading the plain list read it as before. Never written on its own.
    facilitating_partners = models.ManyToManyField(
        Partner,
        related_name="facilitated_grants",
        blank=True,
        help_text=_("The partners with the facilitator role (derived from partner_roles)."),
    )
    recipient_endorsed_on = models.DateField(
        null=True,
        blank=True,
        help_text=_(
            "When the recipient government endorsed the exchange; a triangular grant "
            "is approved only once it is recorded."
        ),
    )
    window = models.ForeignKey(
        Window,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants",
        help_text=_("The funding window the grant is financed from; null: the fund itself."),
    )
    requested_usd = models.DecimalField(**MONEY, null=True, blank=True)
    approved_usd = models.DecimalField(**MONEY, null=True, blank=True, editable=False)
    disbursed_usd = models.DecimalField(**MONEY, default=ZERO, editable=False)
    released_usd = models.DecimalField(
        **MONEY,
        default=ZERO,
        editable=False,
        help_text=_("Committed money given back to the fund by cancelling or closing."),
    )
    status = models.CharField(
        max_length=16, choices=GrantStatus.choices, default=GrantStatus.DRAFT, editable=False
    )
    development_goal = models.TextField(max_length=2000, blank=True)
    targeted_outcomes = models.JSONField(default=list, blank=True)
    planned_start = models.DateField(null=True, blank=True)
    planned_end = models.DateField(null=True, blank=True)
    completion_report_due = models.DateField(null=True, blank=True, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Derived from the history: the local date (TIME_ZONE) of the grant's first move to
    # submitted and to approved, what the cycle times' steps begin at (``note_move``),
    # kept by whatever writes the history (grants.services ``_record``, the importer,
    # the review loader, the benchmark's generator) so that the overdue list walks an
    # index in its own order (grants 0018) instead of computing the first history row
    # of every grant at a status. A change of TIME_ZONE leaves them in the old zone's
    # dates until ``manage.py grant_first_moves`` recomputes them.
    first_submitted_on = models.DateField(null=True, blank=True, editable=False)
    first_approved_on = models.DateField(null=True, blank=True, editable=False)
    # The completion report's submission (a local date, as above) and acceptance, kept on
    # the grant by the workflow's effects (``report_dates``; the generator and the review
    # loader set them too): the fund manager's home walks the completed grants by them in
    # partial indexes of the grant (grants 0019), where the report's own columns cannot
    # tell a completed grant from a closed one. ``grant_first_moves`` recomputes both.
    report_submitted_on = models.DateField(null=True, blank=True, editable=False)
    report_accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by grants.services (grant_propose_follow_on, grant_link_parent), which refuse
    # a parent that is not completed or closed and any cycle; PROTECT: a grant others
    # follow on from stays on record.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        editable=False,
    )
    relation = models.CharField(
        max_length=16, choices=GrantRelation.choices, blank=True, editable=False
    )

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["region", "status"]),
            models.Index(fields=["sector", "status"]),
            models.Index(fields=["task_team_leader", "status"]),
            models.Index(fields=["requested_usd"]),
            models.Index(fields=["completion_report_due"]),
            # The list's default order, and the largest grants first, each with the id
            # that breaks ties: page 1 and keyset cursors read the index, not a sort.
            models.Index(fields=["-created_at", "-id"], name="grant_created_id_idx"),
            models.Index(fields=["requested_usd", "id"], name="grant_requested_id_idx"),
            # Two covering indexes on PostgreSQL are created by migration 0005 (not
            # declared here: SQLite cannot build indexes with non-key columns).
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(requested_usd__isnull=True)
                | (Q(requested_usd__gt=0) & Q(requested_usd__lte=MAX_GRANT_USD)),
                name="grant_requested_in_range",
            ),
            models.CheckConstraint(
                condition=Q(status=GrantStatus.DRAFT)
                | (
                    Q(sector__isnull=False)
                    & ~Q(region="")
                    & Q(requested_usd__isnull=False)
                    & Q(planned_start__isnull=False)
                    & Q(planned_end__isnull=False)
                ),
                name="grant_complete_once_submitted",
            ),
            models.CheckConstraint(
                condition=Q(approved_usd__isnull=True) | Q(approved_usd__gt=0),
                name="grant_approved_positive",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_usd__gte=0) & Q(released_usd__gte=0),
                name="grant_money_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_usd=0, released_usd=0)
                | Q(approved_usd__gte=F("disbursed_usd") + F("released_usd")),
                name="grant_spent_within_approved",
            ),
            models.CheckConstraint(
                condition=Q(planned_end__gte=F("planned_start")),
                name="grant_planned_period_ordered",
            ),
            # A cycle of one, the only one a row can check; longer ones: the services.
            models.CheckConstraint(condition=~Q(parent=F("id")), name="grant_not_own_parent"),
            models.CheckConstraint(
                condition=Q(parent__isnull=True, relation="")
                | Q(parent__isnull=False, relation__in=GrantRelation.values),
                name="grant_relation_with_parent",
            ),
        ]

    def __str__(self):
        return self.reference or f"Draft {self.pk}: {self.title}"

    @property
    def committed_usd(self) -> Decimal:
        if self.approved_usd is None:
            return ZERO
        return self.approved_usd - self.released_usd

    @property
    def undisbursed_usd(self) -> Decimal:
        return self.committed_usd - self.disbursed_usd

    def note_move(self, to_status: str, at) -> list[str]:
        """Take a history row's move to ``to_status`` at ``at`` into the first-move
        dates (``first_move_dates``): the earliest date wins, whatever the order the rows
        are written in. The names of the fields it changed (to save)."""
        name = FIRST_MOVE_FIELDS.get(to_status)
        if name is None:
            return []
        day = first_move_dates([(to_status, at)])[name]
        current = getattr(self, name)
        if current is not None and current <= day:
            return []
        setattr(self, name, day)
        return [name]

    def compute_completion_report_due(self):
        if self.planned_end is None:
            return None
        return self.planned_end + timedelta(days=settings.COMPLETION_REPORT_DUE_DAYS)


def report_dates(submitted_at, accepted_at) -> dict:
    """What a grant keeps of its completion report's ``submitted_at`` and
    ``accepted_at`` (``Grant.report_submitted_on``, ``report_accepted_at``): the
    submission as a date of the fund's time zone (TIME_ZONE), the acceptance as it is."""
    return {
        "report_submitted_on": fund_date(submitted_at),
        "report_accepted_at": accepted_at,
    }


# The statuses whose first move a grant keeps, and the field keeping its date.
FIRST_MOVE_FIELDS = {
    GrantStatus.SUBMITTED: "first_submitted_on",
    GrantStatus.APPROVED: "first_approved_on",
}


def first_move_dates(moves) -> dict:
    """The first-move fields (``FIRST_MOVE_FIELDS``) that a grant's history gives, from
    its moves as ``(to_status, at)`` pairs: for each, the earliest date, in the fund's
    time zone (TIME_ZONE, never a user's), of a move to its status, or None."""
    zone = timezone.get_default_timezone()
    dates = dict.fromkeys(FIRST_MOVE_FIELDS.values())
    for to_status, at in moves:
        name = FIRST_MOVE_FIELDS.get(to_status)
        if name is not None:
            day = fund_date(at, zone)
            if dates[name] is None or day < dates[name]:
                dates[name] = day
    return dates


class PartnerRole(models.TextChoices):
    FINANCIER = "financier", _("Financier")
    COFINANCIER = "cofinancier", _("Co-financier")
    KNOWLEDGE_PROVIDER = "knowledge_provider", _("Knowledge provider")
    FACILITATOR = "facilitator", _("Facilitator")


class GrantPartnerRole(models.Model):
    """The part a partner plays in a grant (triangular cooperation). A co-financier's
    ``cofinancing_usd`` is money it finances outside the fund: reported, never in the
    ledger."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="partner_roles")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="grant_roles")
    role = models.CharField(max_length=32, choices=PartnerRole.choices)
    cofinancing_usd = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["role", "partner_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["grant", "partner", "role"], name="grant_partner_role_once"
            ),
            models.CheckConstraint(
                condition=(Q(role="cofinancier") & Q(cofinancing_usd__gt=0))
                | (~Q(role="cofinancier") & Q(cofinancing_usd__isnull=True)),
                name="grant_partner_role_cofinancing_only_cofinancier",
            ),
        ]

    def __str__(self):
        return f"{self.grant_id} {self.partner_id} {self.role}"


class GrantHistory(models.Model):
    """Append-only: one row per state change of a grant (who, when, from, to, why).

    The database refuses UPDATE and DELETE on this table (triggers created by a
    migration); a correction is a new row.
    """

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="history")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    comment = models.TextField(max_length=5000, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = _("grant history")
        indexes = [
            # A grant's first move to a status (its first submission, its approval: the
            # cycle times and the overdue steps) read from the index alone, not by
            # reading and sorting every row of the grant's history.
            models.Index(fields=["grant", "to_status", "at", "id"], name="history_first_move_idx"),
        ]

    def __str__(self):
        return f"{self.grant} {self.action} {self.from_status}->{self.to_status}"


class ReferenceCounter(models.Model):
    """The last grant reference number used in a year; locked while a number is taken."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class GrantStatusCount(models.Model):
    """How many grants are at each status, kept by the database itself: triggers of
    grants 0017 count every insert, status change and delete of a grant, whoever writes
    it (the services, the importer, bulk loads, the admin, SQL). A list of every grant at
    some statuses (a fund manager's, a donor's) then has its count without reading the
    grants (``selectors.grant_count_at``); a status with no grant may have no row."""

    status = models.CharField(max_length=16, choices=GrantStatus.choices, primary_key=True)
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(count__gte=0), name="grant_status_count_not_negative"
            )
        ]

    def __str__(self):
        return f"{self.status}: {self.count}"


class Instrument(models.TextChoices):
    STUDY_TOUR = "study_tour", _("Study tour")
    VIDEOCONFERENCE = "videoconference", _("Videoconference")
    PEER_CONSULTATION = "peer_consultation", _("Peer consultation")
    WORKSHOP = "workshop", _("Workshop")
    EXPERT_VISIT = "expert_visit", _("Expert visit")
    CONFERENCE = "conference", _("Conference")


class ExchangeStatus(models.TextChoices):
    PLANNED = "planned", pgettext_lazy("status of an exchange", "Planned")
    HELD = "held", pgettext_lazy("status of an exchange", "Held")
    CANCELLED = "cancelled", pgettext_lazy("status of an exchange", "Cancelled")


class Exchange(TimeStampedModel):
    """One knowledge exchange of a grant: a study tour, a videoconference..."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="exchanges")
    instrument = models.CharField(max_length=32, choices=Instrument.choices, db_index=True)
    title = models.CharField(max_length=200)
    provider_countries = models.ManyToManyField(Country, related_name="+", blank=True)
    recipient_countries = models.ManyToManyField(Country, related_name="+", blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    location = models.CharField(max_length=200, blank=True)
    participants = models.PositiveIntegerField(default=0)
    women_participants = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=ExchangeStatus.choices, default=ExchangeStatus.PLANNED
    )

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="exchange_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(women_participants__lte=F("participants")),
                name="exchange_women_within_participants",
            ),
        ]

    def __str__(self):
        return self.title


class Disbursement(ReversibleEntry):
    """Money paid out of a grant's commitment. Append-only: the database refuses UPDATE
    and DELETE (triggers, migration 0007); a mistake is corrected by a reversing entry,
    a new disbursement with the negative amount that ``reverses`` the original."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="disbursements")
    amount_usd = models.DecimalField(**MONEY)
    disbursed_on = models.DateField()
    purpose = models.CharField(max_length=500, blank=True)
    # PROTECT, not SET_NULL: who paid money out stays on record (and the table refuses
    # the UPDATE that SET_NULL would be).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["disbursed_on", "id"]
        constraints = [
            reversal_sign_constraint("amount_usd", name="disbursement_sign_follows_reverses"),
        ]

    def __str__(self):
        return f"{self.grant} {self.disbursed_on} {self.amount_usd}"


class ReminderKind(models.TextChoices):
    UPCOMING = "upcoming", _("Completion report due soon")
    OVERDUE = "overdue", _("Completion report overdue")
    ESCALATION = "escalation", _("Completion report 30 days overdue (to fund managers)")
    # Owed and sent for results (results.reminders, a source of grants.reminders): an
    # ex-post check due; ``sequence`` is its months after closing (6 or 12).
    EX_POST = "ex_post", _("Ex-post check due")


class Reminder(models.Model):
    """One completion-report reminder to one recipient.

    The row is claimed (inserted) before the e-mail is sent, and the unique constraint
    on what it is (grant, kind, sequence, recipient) means no two job runs, retries or
    workers can claim the same reminder. ``sent_at`` is set in the transaction that
    sends it, so a failed send leaves it pending for the next attempt, never "sent".
    """

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    sequence = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Overdue reminders: 0 the day after the due date, then 1, 2... weekly."),
    )
    due_date = models.DateField(help_text=_("The completion_report_due it reminds of."))
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.EmailField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["grant", "kind", "sequence", "recipient"], name="reminder_sent_once"
            ),
        ]

    def __str__(self):
        return f"{self.kind} #{self.sequence} {self.grant} -> {self.recipient}"
