"""Brokering knowledge: what provider countries offer, what recipient countries ask
for, and the match that turns a request into a draft grant."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from grants.models import Grant, Instrument
from partners.models import Country, Sector
from results.markdown import render_markdown
from seetf.common.models import TimeStampedModel


class _Described:
    """The description as sanitised HTML (Markdown, as results stories are rendered),
    and the instruments' labels, for the pages."""

    @property
    def description_html(self) -> str:
        return render_markdown(self.description)

    @property
    def instrument_labels(self) -> list[str]:
        labels = dict(Instrument.choices)
        return [str(labels.get(code, code)) for code in self.instruments]


class OfferStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class RequestStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status of a request", "Open")
    MATCHED = "matched", _("Matched")
    CLOSED = "closed", pgettext_lazy("status of a request", "Closed")


class Offer(_Described, TimeStampedModel):
    """A provider country's institution and the experience it can share."""

    # OFR-YYYY-NNNN, given by the services on creation (``references``): the offer's
    # natural key in the portfolio workbook. Null only for rows written outside them.
    reference = models.CharField(max_length=20, unique=True, null=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=10000, help_text=_("Plain text or Markdown."))
    provider_country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="offers")
    institution = models.CharField(max_length=200)
    sectors = models.ManyToManyField(Sector, related_name="offers")
    instruments = models.JSONField(default=list, help_text=_("grants.Instrument values."))
    languages = models.JSONField(default=list, help_text=_("ISO 639-1 codes."))
    capacity_per_year = models.PositiveSmallIntegerField(
        help_text=_("How many exchanges a year the institution can host.")
    )
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    status = models.CharField(
        max_length=16, choices=OfferStatus.choices, default=OfferStatus.DRAFT, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    # ``render_markdown(description)``, written with the description by every writer of
    # offers (the services, the importer's, the portfolio generator): the catalogue shows
    # 25 of them a page and rendered each on every view (a tenth of the page's time).
    # A change of ``render_markdown``'s output needs a data migration rendering them
    # again (as 0005 did).
    rendered_description = models.TextField(default="", editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "provider_country"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity_per_year__gte=1), name="offer_capacity_positive"
            )
        ]

    def __str__(self):
        return self.title

    @property
    def description_html(self) -> str:
        return offer_description_html(self.description, self.rendered_description)


def offer_description_html(description: str, rendered_description: str) -> str:
    """An offer's description as the catalogue, its page and the API show it: as kept
    (``rendered_description``). A row written outside the offers' writers (a test's, a
    shell's) left it empty: rendered now."""
    if rendered_description or not description:
        return rendered_description
    return render_markdown(description)


class ExchangeRequest(_Described, TimeStampedModel):
    """A recipient country's knowledge gap: what it wants to learn, how, by when."""

    # REQ-YYYY-NNNN, as the offer's reference.
    reference = models.CharField(max_length=20, unique=True, null=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=10000, help_text=_("Plain text or Markdown."))
    recipient_country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="exchange_requests"
    )
    sectors = models.ManyToManyField(Sector, related_name="exchange_requests")
    instruments = models.JSONField(default=list)
    languages = models.JSONField(default=list)
    needed_by = models.DateField()
    endorsed_on = models.DateField(
        null=True, blank=True, help_text=_("When the recipient government endorsed the request.")
    )
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN, editable=False
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return self.title


class BrokeringCounter(models.Model):
    """The last number of an offer's or a request's reference in a year (``prefix``
    OFR or REQ); locked while a number is taken."""

    prefix = models.CharField(max_length=3)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="brokering_counter_once")
        ]

    def __str__(self):
        return f"{self.prefix} {self.year}: {self.last_number}"


class Match(models.Model):
    """A request matched with an offer: the draft grant it became. An offer's capacity
    counts its matches of the year."""

    request = models.OneToOneField(ExchangeRequest, on_delete=models.PROTECT, related_name="match")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="matches")
    grant = models.OneToOneField(Grant, on_delete=models.PROTECT, related_name="brokered_match")
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    matched_at = models.DateTimeField()
    year = models.PositiveSmallIntegerField(help_text=_("The year whose capacity it uses."))

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["offer", "year"])]

    def __str__(self):
        return f"{self.request_id} -> {self.offer_id}"
