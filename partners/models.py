"""Reference data (countries, sectors), partners, and the money they bring in."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Case, ExpressionWrapper, F, Q, Value, When
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from seetf.common.models import StampDateTimeField, TimeStampedModel
from seetf.common.money import CENT, MONEY, ZERO, to_cents

# The largest amount any single money field accepts: a billion USD (or currency units)
# is already far beyond any pledge or grant of a knowledge-exchange trust fund.
MAX_AMOUNT = Decimal("1000000000.00")


class Region(models.TextChoices):
    AFR = "AFR", _("Sub-Saharan Africa")
    EAP = "EAP", _("East Asia and Pacific")
    ECA = "ECA", _("Europe and Central Asia")
    LCR = "LCR", _("Latin America and the Caribbean")
    MNA = "MNA", _("Middle East and North Africa")
    SAR = "SAR", _("South Asia")
    OTH = "OTH", _("Other")


class IncomeGroup(models.TextChoices):
    LOW = "low", _("Low income")
    LOWER_MIDDLE = "lower_middle", _("Lower-middle income")
    UPPER_MIDDLE = "upper_middle", _("Upper-middle income")
    HIGH = "high", _("High income")
    UNCLASSIFIED = "unclassified", _("Not classified")


class Country(models.Model):
    code = models.CharField("ISO 3166-1 alpha-3", max_length=3, primary_key=True)
    alpha2 = models.CharField("ISO 3166-1 alpha-2", max_length=2, unique=True)
    name = models.CharField(max_length=100)
    region = models.CharField(max_length=3, choices=Region.choices, db_index=True)
    income_group = models.CharField(max_length=16, choices=IncomeGroup.choices, db_index=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("countries")

    def __str__(self):
        return self.name


class Sector(models.Model):
    code = models.CharField(
        _("OECD DAC purpose code"),
        max_length=5,
        primary_key=True,
        validators=[RegexValidator(r"^\d{5}$", _("A DAC purpose code has five digits."))],
    )
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=200, help_text=_("The DAC 3-digit category's name."))

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class PartnerKind(models.TextChoices):
    TRADITIONAL_DONOR = "traditional_donor", _("Traditional donor")
    NEW_DEVELOPMENT_PARTNER = "new_development_partner", _("New development partner")
    MULTILATERAL = "multilateral", _("Multilateral")
    PRIVATE = "private", _("Private")


class IatiOrgType(models.TextChoices):
    """IATI's OrganisationType codelist (the codes a fund's partners can be)."""

    GOVERNMENT = "10", _("Government")
    LOCAL_GOVERNMENT = "11", _("Local Government")
    OTHER_PUBLIC_SECTOR = "15", _("Other Public Sector")
    INTERNATIONAL_NGO = "21", _("International NGO")
    NATIONAL_NGO = "22", _("National NGO")
    REGIONAL_NGO = "23", _("Regional NGO")
    PARTNER_COUNTRY_NGO = "24", _("Partner Country based NGO")
    PUBLIC_PRIVATE_PARTNERSHIP = "30", _("Public Private Partnership")
    MULTILATERAL = "40", _("Multilateral")
    FOUNDATION = "60", _("Foundation")
    PRIVATE_SECTOR = "70", _("Private Sector")
    ACADEMIC = "80", _("Academic, Training and Research")
    OTHER = "90", _("Other")


# An IATI organisation identifier: a registration agency's prefix, a hyphen, the
# organisation's number with that agency; none of the characters IATI forbids. (Empty is
# allowed by blank=True: validators do not run on an empty value.)
IATI_REF_VALIDATOR = RegexValidator(
    r"^[A-Za-z]{2}-[A-Za-z0-9]+-[^\s/&|?]+$",
    _(
        "An IATI organisation identifier such as XM-DAC-3 or GB-GOV-1: an agency prefix, "
        "then the organisation's number, without spaces, /, &, | or ?."
    ),
)


class Partner(TimeStampedModel):
    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9_-]{2,16}$", _("Use 2-16 capitals, digits, - or _."))],
        help_text=_("Unique; the country's ISO3 code for a country partner."),
    )
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=PartnerKind.choices, db_index=True)
    country = models.ForeignKey(
        Country, null=True, blank=True, on_delete=models.PROTECT, related_name="partners"
    )
    joined_on = models.DateField(null=True, blank=True)
    iati_org_ref = models.CharField(
        _("IATI organisation identifier"),
        max_length=100,
        blank=True,
        validators=[IATI_REF_VALIDATOR],
        help_text=_(
            "The partner's IATI organisation identifier (e.g. XM-DAC-3 for Denmark); "
            "empty when it has none: the IATI files then name it by its name only."
        ),
    )
    iati_org_type = models.CharField(
        _("IATI organisation type"),
        max_length=2,
        blank=True,
        choices=IatiOrgType.choices,
        help_text=_(
            "IATI OrganisationType code; empty: from the kind (a country partner is a "
            "government, a multilateral a multilateral, a private partner a foundation)."
        ),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class PartnerMembership(models.Model):
    """Ties a donor user to the partner (country) they represent."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_membership"
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="members")

    def __str__(self):
        return f"{self.user} ({self.partner.code})"


class ContributionStatus(models.TextChoices):
    PLEDGED = "pledged", _("Pledged")
    PARTIALLY_RECEIVED = "partially_received", _("Partially received")
    RECEIVED = "received", _("Received")


def outstanding_usd_expression(prefix: str = ""):
    """The USD still to come on a pledge, valued at the pledge's own exchange rate
    (``pledged_usd`` per unit pledged): exact for USD, and zero once fully received."""
    pledged_amount = F(f"{prefix}pledged_amount")
    received_amount = F(f"{prefix}received_amount")
    return Case(
        When(**{f"{prefix}received_amount__gte": pledged_amount}, then=Value(ZERO)),
        When(**{f"{prefix}received_amount": 0}, then=F(f"{prefix}pledged_usd")),
        default=ExpressionWrapper(
            F(f"{prefix}pledged_usd") * (pledged_amount - received_amount) / pledged_amount,
            output_field=models.DecimalField(**MONEY),
        ),
        output_field=models.DecimalField(**MONEY),
    )


class ContributionQuerySet(models.QuerySet):
    def with_status(self):
        return self.annotate(
            status_value=Case(
                When(received_amount=0, then=Value(ContributionStatus.PLEDGED)),
                When(
                    received_amount__lt=F("pledged_amount"),
                    then=Value(ContributionStatus.PARTIALLY_RECEIVED),
                ),
                default=Value(ContributionStatus.RECEIVED),
                output_field=models.CharField(),
            )
        )


class Contribution(TimeStampedModel):
    """A partner's pledge to the fund, in its own currency, with its USD value.

    ``received_amount`` and ``received_usd`` are the running totals of its receipts,
    kept by ``receipt_record`` under a row lock; the database refuses a total beyond
    the pledge.
    """

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="contributions")
    reference = models.CharField(max_length=64, unique=True)
    currency = models.CharField(max_length=3, help_text=_("ISO 4217 code."))
    pledged_amount = models.DecimalField(**MONEY, validators=[MinValueValidator(CENT)])
    pledged_usd = models.DecimalField(**MONEY, validators=[MinValueValidator(CENT)])
    received_amount = models.DecimalField(**MONEY, default=ZERO, editable=False)
    received_usd = models.DecimalField(**MONEY, default=ZERO, editable=False)
    signed_on = models.DateField(null=True, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    provider_activity_id = models.CharField(
        _("IATI provider activity identifier"),
        max_length=200,
        blank=True,
        validators=[
            RegexValidator(
                r"^[^\s/&|?]+$", _("An IATI activity identifier has no spaces, /, &, | or ?.")
            )
        ],
        help_text=_(
            "The donor's own IATI activity that this money comes from, so that it can "
            "be traced end to end."
        ),
    )

    objects = ContributionQuerySet.as_manager()

    class Meta:
        ordering = ["partner__name", "signed_on", "id"]
        indexes = [models.Index(fields=["currency"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(pledged_amount__gt=0), name="contribution_pledged_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(pledged_usd__gt=0), name="contribution_pledged_usd_positive"
            ),
            models.CheckConstraint(
                condition=Q(received_amount__gte=0) & Q(received_usd__gte=0),
                name="contribution_received_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(received_amount__lte=F("pledged_amount")),
                name="contribution_received_within_pledge",
            ),
            # The USD credited stays within the pledge's USD value (a receipt in another
            # currency cannot credit more than the pledge is worth).
            models.CheckConstraint(
                condition=Q(received_usd__lte=F("pledged_usd")),
                name="contribution_received_usd_within_pledge",
            ),
            models.CheckConstraint(
                condition=Q(period_end__isnull=True)
                | Q(period_start__isnull=True)
                | Q(period_end__gte=F("period_start")),
                name="contribution_period_ordered",
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def status(self) -> str:
        if self.received_amount == 0:
            return ContributionStatus.PLEDGED
        if self.received_amount < self.pledged_amount:
            return ContributionStatus.PARTIALLY_RECEIVED
        return ContributionStatus.RECEIVED

    @property
    def outstanding_amount(self) -> Decimal:
        return self.pledged_amount - self.received_amount

    @property
    def outstanding_usd(self) -> Decimal:
        """What is still to come, valued at the pledge's own exchange rate."""
        if self.received_amount >= self.pledged_amount:
            return ZERO
        value = self.pledged_usd * self.outstanding_amount / self.pledged_amount
        return to_cents(value)


# The longest reason a reversing entry may give.
REASON_MAX_LENGTH = 500


def reversal_sign_constraint(*amounts: str, name: str) -> models.CheckConstraint:
    """An entry's amounts are positive, except a reversing entry's (one that names the
    entry it ``reverses``), which are negative and give a reason. That they are exactly
    the negative of the original is the reversing service's check."""
    original = Q(reverses__isnull=True) & Q(reason="")
    reversal = Q(reverses__isnull=False) & ~Q(reason="")
    for amount in amounts:
        original &= Q(**{f"{amount}__gt": 0})
        reversal &= Q(**{f"{amount}__lt": 0})
    return models.CheckConstraint(condition=original | reversal, name=name)


class ReversibleEntry(models.Model):
    """A money record corrected only by a reversing entry: a new row of the same kind,
    with the negative amounts, that names it in ``reverses`` and says why."""

    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversal",
        help_text=_(
            "The entry this one reverses (its amounts are the negative of that "
            "entry's); null for an original entry. An entry is reversed at most once."
        ),
    )
    reason = models.CharField(
        max_length=REASON_MAX_LENGTH,
        blank=True,
        help_text=_("Why the entry it reverses was reversed; empty for an original entry."),
    )

    class Meta:
        abstract = True


class Receipt(ReversibleEntry):
    """Money actually paid in against a contribution. Append-only: the database refuses
    UPDATE and DELETE (triggers, migration 0004); a mistake is corrected by a reversing
    entry, a new receipt with the negative amounts that ``reverses`` the original."""

    contribution = models.ForeignKey(
        Contribution, on_delete=models.PROTECT, related_name="receipts"
    )
    amount = models.DecimalField(**MONEY, help_text=_("In the contribution's currency."))
    usd_amount = models.DecimalField(**MONEY, help_text=_("The USD credited to the fund."))
    received_on = models.DateField()
    # PROTECT, not SET_NULL: who recorded money stays on record (and the table refuses
    # the UPDATE that SET_NULL would be).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Now, or the date a generated or imported receipt carries (``explicit_timestamps``).
    created_at = StampDateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [
            reversal_sign_constraint("amount", "usd_amount", name="receipt_sign_follows_reverses"),
        ]

    def __str__(self):
        return f"{self.contribution.reference} {self.received_on} {self.amount}"


class Fund(models.Model):
    """The fund's ledger: one row, the single place money in and money out meet.

    Every movement (a receipt, an approval, a release, a disbursement) updates it with
    ``UPDATE ... SET x = x + amount`` while holding its row lock, so movements are
    serialised, and the CHECK constraints below make over-committing impossible even
    for code that forgets the lock: ``committed <= received`` is ``available >= 0``.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    received_usd = models.DecimalField(**MONEY, default=ZERO)
    committed_usd = models.DecimalField(**MONEY, default=ZERO)
    disbursed_usd = models.DecimalField(**MONEY, default=ZERO)
    allocated_usd = models.DecimalField(
        **MONEY,
        default=ZERO,
        help_text=_(
            "Money set aside in funding windows and not yet committed there: the "
            "sum of the windows' available money."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="fund_single_row"),
            models.CheckConstraint(
                condition=Q(received_usd__gte=0)
                & Q(committed_usd__gte=0)
                & Q(disbursed_usd__gte=0)
                & Q(allocated_usd__gte=0),
                name="fund_amounts_not_negative",
            ),
            # available = received - committed - allocated >= 0.
            models.CheckConstraint(
                condition=Q(received_usd__gte=F("committed_usd") + F("allocated_usd")),
                name="fund_available_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_usd__lte=F("committed_usd")),
                name="fund_disbursed_within_committed",
            ),
        ]

    def __str__(self):
        return "The fund"

    @property
    def available_usd(self) -> Decimal:
        return self.received_usd - self.committed_usd - self.allocated_usd


class AlertKind(models.TextChoices):
    LOW_BALANCE = "low_balance", _("Available money below the threshold")
    PIPELINE_EXCEEDS_BALANCE = "pipeline_exceeds_balance", _("Pipeline exceeds available money")
    LEDGER_DRIFT = "ledger_drift", _("The ledger differs from the records")


class FundAlert(models.Model):
    """A funding-balance alert: raised when its condition starts to hold, resolved when it
    clears. At most one open alert of each kind (a partial unique index), so however
    often the check runs, one crossing raises one alert and one e-mail."""

    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    window = models.ForeignKey(
        "Window",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
        help_text=_("The funding window whose money it is about; null: the fund's."),
    )
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    available_usd = models.DecimalField(**MONEY)
    threshold_usd = models.DecimalField(**MONEY)
    pipeline_usd = models.DecimalField(**MONEY)
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the fund managers were e-mailed.")
    )
    detail = models.TextField(
        blank=True,
        help_text=_(
            "What drifted, for a ledger_drift alert (check_fund): each figure, "
            "the value the records give and the value found."
        ),
    )

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["resolved_at", "kind"])]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(resolved_at__isnull=True, window__isnull=True),
                name="fund_alert_one_open_per_kind",
            ),
            models.UniqueConstraint(
                fields=["kind", "window"],
                condition=Q(resolved_at__isnull=True, window__isnull=False),
                name="fund_alert_one_open_per_kind_and_window",
            ),
        ]

    def __str__(self):
        return f"{self.kind} raised {self.raised_at:%Y-%m-%d}"


# --- Funding windows ------------------------------------------------------------------------


class WindowKind(models.TextChoices):
    REGIONAL = "regional", _("Regional")
    THEMATIC = "thematic", _("Thematic")
    SMALL_GRANTS = "small_grants", _("Small grants")


class WindowStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status of a window", "Open")
    CLOSED = "closed", pgettext_lazy("status of a window", "Closed")


class Window(TimeStampedModel):
    """A funding window: money of the fund set aside for a region, a theme or small
    grants, with its own eligibility rules and its own approvers.

    Its ledger figures are running totals kept on the row, as the fund's are, by the
    services of ``partners.services`` under the fund's row lock and then this row's:

    - ``allocated_usd``: money moved in (allocations) less money moved out (releases,
      the closing's return, and releases of its grants once it is closed);
    - ``committed_usd``: approved amounts of its grants not cancelled, less what closing
      or cancelling them released (counted in the fund's committed money too);
    - ``disbursed_usd``: what its grants paid out;
    - available = allocated - committed, never below zero (a CHECK), and zero once the
      window is closed (a CHECK): the fund's ``allocated_usd`` is the sum of the
      windows' available money.
    """

    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9_-]{2,16}$", _("Use 2-16 capitals, digits, - or _."))],
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=WindowKind.choices)
    region = models.CharField(
        max_length=3,
        choices=Region.choices,
        blank=True,
        help_text=_("When set, a grant's region and recipient countries must be in it."),
    )
    sectors = models.ManyToManyField(
        Sector,
        related_name="windows",
        blank=True,
        help_text=_("When any are set, a grant's sector must be one of them."),
    )
    max_grant_usd = models.DecimalField(**MONEY, validators=[MinValueValidator(CENT)])
    opens_on = models.DateField()
    closes_on = models.DateField()
    status = models.CharField(
        max_length=8, choices=WindowStatus.choices, default=WindowStatus.OPEN, editable=False
    )
    allocated_usd = models.DecimalField(**MONEY, default=ZERO, editable=False)
    committed_usd = models.DecimalField(**MONEY, default=ZERO, editable=False)
    disbursed_usd = models.DecimalField(**MONEY, default=ZERO, editable=False)
    approvers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="WindowApprover",
        related_name="approver_windows",
        blank=True,
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(allocated_usd__gte=0)
                & Q(committed_usd__gte=0)
                & Q(disbursed_usd__gte=0),
                name="window_amounts_not_negative",
            ),
            # available = allocated - committed >= 0.
            models.CheckConstraint(
                condition=Q(committed_usd__lte=F("allocated_usd")),
                name="window_available_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_usd__lte=F("committed_usd")),
                name="window_disbursed_within_committed",
            ),
            # A closed window holds no money of its own: closing returned it to the fund.
            models.CheckConstraint(
                condition=Q(status="open") | Q(allocated_usd=F("committed_usd")),
                name="window_closed_holds_nothing",
            ),
            models.CheckConstraint(
                condition=Q(max_grant_usd__gt=0), name="window_max_grant_positive"
            ),
            models.CheckConstraint(
                condition=Q(closes_on__gte=F("opens_on")), name="window_dates_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def available_usd(self) -> Decimal:
        return self.allocated_usd - self.committed_usd


class WindowApprover(models.Model):
    """A window manager who decides on the window's grants, approving up to a limit."""

    window = models.ForeignKey(Window, on_delete=models.CASCADE, related_name="approver_limits")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="window_limits"
    )
    limit_usd = models.DecimalField(**MONEY, validators=[MinValueValidator(CENT)])

    class Meta:
        ordering = ["window", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["window", "user"], name="window_approver_once"),
            models.CheckConstraint(
                condition=Q(limit_usd__gt=0), name="window_approver_limit_positive"
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.window.code} up to {self.limit_usd}"


class WindowMovementKind(models.TextChoices):
    ALLOCATION = "allocation", _("Allocated from the fund")
    RELEASE = "release", _("Released to the fund")
    CLOSE = "close", _("Returned to the fund at closing")
    GRANT_RETURN = "grant_return", _("A grant's release returned to the fund (window closed)")


# The sign each kind of movement gives the window's allocated money.
WINDOW_MOVEMENT_SIGN = {
    WindowMovementKind.ALLOCATION: 1,
    WindowMovementKind.RELEASE: -1,
    WindowMovementKind.CLOSE: -1,
    WindowMovementKind.GRANT_RETURN: -1,
}


class WindowMovement(models.Model):
    """Money moved between the fund and a window: who, when, why, how much. Append-only
    (the database refuses UPDATE and DELETE, migration 0005): a window's allocated money
    is the sum of its movements, signed by kind (``WINDOW_MOVEMENT_SIGN``)."""

    window = models.ForeignKey(Window, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=16, choices=WindowMovementKind.choices)
    amount_usd = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Now, or the past's date of a movement the importer replays (``explicit_timestamps``).
    created_at = StampDateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Closing an empty window records a movement of zero.
            models.CheckConstraint(
                condition=Q(amount_usd__gt=0) | Q(kind="close", amount_usd=0),
                name="window_movement_amount_positive",
            ),
        ]

    def __str__(self):
        return f"{self.window.code} {self.kind} {self.amount_usd}"
