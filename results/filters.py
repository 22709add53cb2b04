"""Filters of the knowledge hub: results stories and lessons, filtered alike.

Filters across many-to-many relations are ``EXISTS`` subqueries rather than joins, so
a story with two matching countries is listed once, without ``DISTINCT`` (which could
not be combined with ordering by search rank on PostgreSQL).
"""

from django import forms
from django.db.models import Exists, OuterRef, Q
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from grants.models import CapacityOutcome, Exchange, ExchangeStatus, Grant, Instrument
from partners.models import Country, Region, Sector

from . import selectors
from .models import EvidenceLevel, Lesson, LessonReview, ResultsStory

MAX_ID = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """A whole-number id (a decimal such as 1.5 is a 400, not a silent 1)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


@extend_schema_field(OpenApiTypes.STR)
class CodeFilter(filters.ModelChoiceFilter):
    """A sector's or country's code, checked against the reference data (unknown: 400)."""


def _exchanges_with(instrument: str, grant_ref: str):
    """The grant has an exchange of this instrument that was not cancelled."""
    return Exists(
        Exchange.objects.filter(grant_id=OuterRef(grant_ref), instrument=instrument).exclude(
            status=ExchangeStatus.CANCELLED
        )
    )


class KnowledgeHubFilter(filters.FilterSet):
    """The filters stories and lessons share; each subclass says where its sectors,
    countries, regions and outcomes are."""

    search = filters.CharFilter(method="filter_search", max_length=200)
    sector = CodeFilter(
        queryset=Sector.objects.all(),
        method="filter_sector",
        help_text="OECD DAC 5-digit purpose code.",
    )
    region = filters.ChoiceFilter(choices=Region.choices, method="filter_region")
    country = CodeFilter(
        queryset=Country.objects.all(),
        method="filter_country",
        help_text="ISO 3166-1 alpha-3 code.",
    )
    outcome = filters.ChoiceFilter(
        choices=CapacityOutcome.choices,
        method="filter_outcome",
        help_text="One of the six intermediate capacity outcomes.",
    )
    instrument = filters.ChoiceFilter(
        choices=Instrument.choices,
        method="filter_instrument",
        help_text="Whose grant has an exchange of this instrument (not cancelled).",
    )
    grant = IdFilter(field_name="grant_id", help_text="A grant id.")

    def filter_instrument(self, queryset, name, value):
        return queryset.filter(_exchanges_with(value, "grant_id"))


class ResultsStoryFilter(KnowledgeHubFilter):
    search = filters.CharFilter(
        method="filter_search",
        max_length=200,
        help_text="Words in the title or body; the best matches come first.",
    )
    published = filters.BooleanFilter(
        help_text="Drafts (false) or published stories (true); only fund managers see drafts."
    )

    class Meta:
        model = ResultsStory
        fields = [
            "search",
            "sector",
            "region",
            "country",
            "outcome",
            "instrument",
            "grant",
            "published",
        ]

    def filter_search(self, queryset, name, value):
        return selectors.search_stories(queryset, value)

    def filter_sector(self, queryset, name, value):
        through = ResultsStory.sectors.through
        return queryset.filter(
            Exists(through.objects.filter(resultsstory_id=OuterRef("pk"), sector_id=value.pk))
        )

    def filter_country(self, queryset, name, value):
        through = ResultsStory.countries.through
        return queryset.filter(
            Exists(through.objects.filter(resultsstory_id=OuterRef("pk"), country_id=value.pk))
        )

    def filter_region(self, queryset, name, value):
        """The story's countries' region, or its grant's."""
        through = ResultsStory.countries.through
        in_region = through.objects.filter(resultsstory_id=OuterRef("pk"), country__region=value)
        return queryset.filter(Q(grant__region=value) | Exists(in_region))

    def filter_outcome(self, queryset, name, value):
        through = ResultsStory.outcomes.through
        return queryset.filter(
            Exists(through.objects.filter(resultsstory_id=OuterRef("pk"), outcome_id=value))
        )


class LessonFilter(KnowledgeHubFilter):
    """Lessons are filtered by their grant (its sector, its recipient countries and
    their regions, or the grant's region), by the outcomes they concern, and by their
    evidence level and review state."""

    search = filters.CharFilter(
        method="filter_search",
        max_length=200,
        help_text="Words in what worked, what did not and why; the best matches come first.",
    )
    evidence_level = filters.ChoiceFilter(
        choices=EvidenceLevel.choices, help_text="What the lesson rests on."
    )
    review_status = filters.ChoiceFilter(
        choices=LessonReview.choices,
        help_text="Only fund managers (and a leader, for their own grants) see other "
        "lessons than reviewed ones.",
    )

    class Meta:
        model = Lesson
        fields = [
            "search",
            "sector",
            "region",
            "country",
            "outcome",
            "instrument",
            "grant",
            "evidence_level",
            "review_status",
        ]

    def filter_search(self, queryset, name, value):
        return selectors.search_lessons(queryset, value)

    def filter_sector(self, queryset, name, value):
        return queryset.filter(grant__sector_id=value.pk)

    def filter_country(self, queryset, name, value):
        through = Grant.recipient_countries.through
        return queryset.filter(
            Exists(through.objects.filter(grant_id=OuterRef("grant_id"), country_id=value.pk))
        )

    def filter_region(self, queryset, name, value):
        """The grant's region, or one of its recipient countries'."""
        through = Grant.recipient_countries.through
        in_region = through.objects.filter(grant_id=OuterRef("grant_id"), country__region=value)
        return queryset.filter(Q(grant__region=value) | Exists(in_region))

    def filter_outcome(self, queryset, name, value):
        through = Lesson.outcomes.through
        return queryset.filter(
            Exists(through.objects.filter(lesson_id=OuterRef("pk"), outcome_id=value))
        )
