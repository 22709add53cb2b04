from rest_framework import serializers

from grants.models import Instrument
from partners.models import Country, Sector
from seetf.common.rows import Computed, RowRepresentation

from ..models import ExchangeRequest, Offer, OfferStatus, RequestStatus, offer_description_html

LANGUAGES_HELP = "ISO 639-1 codes (two lower-case letters: en, fr, es, pt, ar...)."


def _sectors():
    return serializers.SlugRelatedField(
        many=True,
        slug_field="code",
        queryset=Sector.objects.all(),
        help_text="OECD DAC 5-digit purpose codes.",
    )


def _country(help_text):
    return serializers.SlugRelatedField(
        slug_field="code", queryset=Country.objects.all(), help_text=help_text
    )


def _instruments():
    return serializers.ListField(
        child=serializers.ChoiceField(choices=Instrument.choices),
        max_length=len(Instrument.values) * 2,
        help_text="study_tour, videoconference, peer_consultation, workshop, expert_visit, "
        "conference.",
    )


def _languages():
    return serializers.ListField(
        child=serializers.CharField(max_length=8), max_length=20, help_text=LANGUAGES_HELP
    )


class PublicOfferSerializer(serializers.ModelSerializer):
    """An offer as the public catalogue shows it: no contact fields."""

    provider_country = _country("ISO 3166-1 alpha-3 code of the provider country.")
    sectors = _sectors()
    instruments = _instruments()
    languages = _languages()
    capacity_per_year = serializers.IntegerField(min_value=1, max_value=1000)
    description = serializers.CharField(
        max_length=10000, help_text="Plain text or Markdown; HTML tags are refused (400)."
    )
    description_html = serializers.SerializerMethodField(
        help_text="The description rendered from Markdown and sanitised."
    )
    reference = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="OFR-YYYY-NNNN, given on creation; the portfolio workbook's key.",
    )
    status = serializers.ChoiceField(choices=OfferStatus.choices, read_only=True)
    capacity_left = serializers.SerializerMethodField(
        help_text="capacity_per_year minus this year's matches."
    )

    class Meta:
        model = Offer
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "description_html",
            "provider_country",
            "institution",
            "sectors",
            "instruments",
            "languages",
            "capacity_per_year",
            "capacity_left",
            "status",
        ]
        read_only_fields = ["id", "reference", "status"]

    def get_description_html(self, offer) -> str:
        return offer.description_html

    def get_capacity_left(self, offer) -> int:
        used = getattr(offer, "matches_this_year", None)
        if used is None:
            used = self.context.get("capacity_used", {}).get(offer.pk, 0)
        return offer.capacity_per_year - used


class OfferSerializer(PublicOfferSerializer):
    """An offer as signed-in users read it and task team leaders and fund managers
    write it: with its contact."""

    contact_email = serializers.EmailField(max_length=254)

    class Meta(PublicOfferSerializer.Meta):
        fields = [*PublicOfferSerializer.Meta.fields, "contact_name", "contact_email"]


class RequestSerializer(serializers.ModelSerializer):
    recipient_country = _country("ISO 3166-1 alpha-3 code of the recipient country.")
    sectors = _sectors()
    instruments = _instruments()
    languages = _languages()
    description = serializers.CharField(
        max_length=10000, help_text="Plain text or Markdown; HTML tags are refused (400)."
    )
    needed_by = serializers.DateField(help_text="Not in the past (400).")
    endorsed_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="When the recipient government endorsed the request (not in the future).",
    )
    reference = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="REQ-YYYY-NNNN, given on creation; the portfolio workbook's key.",
    )
    status = serializers.ChoiceField(choices=RequestStatus.choices, read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    matched_offer = serializers.SerializerMethodField(help_text="The offer matched, or null.")
    matched_grant = serializers.SerializerMethodField(help_text="The draft grant made, or null.")

    class Meta:
        model = ExchangeRequest
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "recipient_country",
            "sectors",
            "instruments",
            "languages",
            "needed_by",
            "endorsed_on",
            "status",
            "requested_by",
            "matched_offer",
            "matched_grant",
            "created_at",
        ]
        read_only_fields = ["id", "reference", "status", "requested_by", "created_at"]

    def _match(self, request):
        try:
            return request.match
        except ExchangeRequest.match.RelatedObjectDoesNotExist:
            return None

    def get_matched_offer(self, request) -> int | None:
        match = self._match(request)
        return match.offer_id if match else None

    def get_matched_grant(self, request) -> int | None:
        match = self._match(request)
        return match.grant_id if match else None


# The offers as rows (seetf.common.rows): the serializers' JSON from ``.values()`` of the
# offers annotated by ``selectors.with_capacity``, their sectors read for the whole page
# in one statement. The catalogue's page of 50 offers walked as model instances with
# prefetched managers by the ModelSerializer cost more than its queries.
_OFFER_DECLARED = {
    # As kept by the offers' writers (``Offer.rendered_description``), not rendered here.
    "description_html": Computed(
        ("description", "rendered_description"),
        lambda row: offer_description_html(row["description"], row["rendered_description"]),
    ),
    # The provider's code (SlugRelatedField by ``code``, the country's primary key).
    "provider_country": Computed(("provider_country_id",), lambda row: row["provider_country_id"]),
    "capacity_left": Computed(
        ("capacity_per_year", "matches_this_year"),
        lambda row: row["capacity_per_year"] - row["matches_this_year"],
    ),
}
OFFER_ROWS = RowRepresentation(OfferSerializer, declared=_OFFER_DECLARED)
PUBLIC_OFFER_ROWS = RowRepresentation(PublicOfferSerializer, declared=_OFFER_DECLARED)


class SuggestionSerializer(serializers.Serializer):
    offer = OfferSerializer(read_only=True)
    score = serializers.FloatField(help_text="The sum of the points of `reasons`.")
    reasons = serializers.ListField(child=serializers.CharField())


class MatchInputSerializer(serializers.Serializer):
    offer = serializers.PrimaryKeyRelatedField(
        queryset=Offer.objects.all(), help_text="A published offer's id."
    )


class MatchResultSerializer(serializers.Serializer):
    grant = serializers.IntegerField(help_text="The draft grant made for the request's author.")
    request = serializers.IntegerField()
    offer = serializers.IntegerField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
