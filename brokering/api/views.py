"""The brokering API: `/offers/`, `/requests/`, a request's `suggestions/` and
`match/` (API.md, "Brokering knowledge")."""

from functools import partial

import django_filters
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from grants.filters import filters_given
from grants.models import Instrument
from partners.models import Country, Sector
from seetf.common.api import ErrorSerializer, ScopedViewSet
from seetf.common.datacache import cached_response
from seetf.common.filters import NamedFiltersBackend
from seetf.common.pagination import Rows

from .. import scoring, selectors, services
from ..languages import is_language
from ..models import ExchangeRequest, Offer, OfferStatus, RequestStatus
from ..permissions import can_read_requests, can_see_contacts, can_write_offers, can_write_requests
from .serializers import (
    OFFER_ROWS,
    PUBLIC_OFFER_ROWS,
    MatchInputSerializer,
    MatchResultSerializer,
    OfferSerializer,
    PublicOfferSerializer,
    ReasonSerializer,
    RequestSerializer,
    SuggestionSerializer,
)

REFUSALS = {
    400: OpenApiResponse(description="Invalid input: {field: [message]}."),
    401: OpenApiResponse(description="No credentials."),
    403: OpenApiResponse(ErrorSerializer, description="The role may not do this."),
    404: OpenApiResponse(description="No such object, or not visible to this user."),
    409: OpenApiResponse(ErrorSerializer, description="invalid_transition: not in that state."),
}


class PublicReadSchema(AutoSchema):
    """Reading needs no credentials (an empty security requirement)."""

    def get_auth(self):
        auths = super().get_auth()
        if self.method in permissions.SAFE_METHODS:
            auths.append({})
        return auths


class BrokeringPermission(permissions.BasePermission):
    """Reads: the view's ``read_rule`` (None: anyone, the scope decides what they see).
    Writes: credentials (401), then the view's ``write_rule`` when creating (403); on an
    existing object the services' rules decide (403), once it was found (404)."""

    def has_permission(self, request, view):
        signed_in = bool(request.user and request.user.is_authenticated)
        rule = getattr(view, "read_rule", None)
        if request.method in permissions.SAFE_METHODS:
            if rule is None:
                return True
            return signed_in and self._allowed(rule(request.user))
        if not signed_in:
            return False
        if rule is not None and not self._allowed(rule(request.user)):
            return False
        if getattr(view, "action", None) == "create":
            return self._allowed(view.write_rule(request.user))
        return True

    def _allowed(self, answer) -> bool:
        allowed, reason = answer
        if not allowed:
            self.message = reason
        return allowed


def _in_json_list(queryset, field: str, value: str):
    """Rows whose JSON list ``field`` holds ``value`` (a validated code): the list's
    text holds it quoted, on SQLite and PostgreSQL alike."""
    alias = f"_{field}_text"
    return queryset.annotate(**{alias: Cast(field, TextField())}).filter(
        **{f"{alias}__contains": f'"{value}"'}
    )


def _with_sectors(queryset, **sectors):
    """Rows with a sector of these (lookups on the relation's table): a subquery on it,
    not a join, so that no row is repeated and none needs DISTINCT (which made counting
    the offers of a sector compare every column of each: 80 ms at 100,000 offers)."""
    through = queryset.model.sectors.through
    return queryset.filter(
        pk__in=through.objects.filter(**sectors).values(f"{queryset.model._meta.model_name}_id")
    )


class _LanguageFilter(django_filters.CharFilter):
    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if not is_language(value):
            raise ValidationError(
                {"language": [_("Not an ISO 639-1 code: %(value)s.") % {"value": value[:20]}]}
            )
        return _in_json_list(qs, "languages", value)


class _SharedFilters(django_filters.FilterSet):
    sector = django_filters.ModelChoiceFilter(
        field_name="sectors",
        queryset=Sector.objects.all(),
        method="filter_sector",
        help_text="A DAC purpose code.",
    )
    category = django_filters.CharFilter(
        method="filter_category", help_text="A DAC category: the first 3 digits of a code."
    )
    instrument = django_filters.ChoiceFilter(
        choices=Instrument.choices, method="filter_instrument", help_text="An instrument."
    )
    language = _LanguageFilter(help_text="An ISO 639-1 code.")
    search = django_filters.CharFilter(
        method="filter_search", help_text="Words in the title or description."
    )

    def filter_sector(self, queryset, name, value):
        return _with_sectors(queryset, sector=value)

    def filter_category(self, queryset, name, value):
        if not (value.isdigit() and len(value) == 3):
            raise ValidationError({"category": [_("Three digits, e.g. 311.")]})
        return _with_sectors(queryset, sector__code__startswith=value)

    def filter_instrument(self, queryset, name, value):
        return _in_json_list(queryset, "instruments", value)

    def filter_search(self, queryset, name, value):
        q = Q()
        for word in value.split()[:10]:
            q &= Q(title__icontains=word) | Q(description__icontains=word) | self.extra_search(word)
        return queryset.filter(q)

    def extra_search(self, word):
        return Q()


class OfferFilter(_SharedFilters):
    provider_country = django_filters.ModelChoiceFilter(
        queryset=Country.objects.all(), help_text="ISO 3166-1 alpha-3."
    )
    status = django_filters.ChoiceFilter(choices=OfferStatus.choices)

    class Meta:
        model = Offer
        fields = ["provider_country", "status"]

    def extra_search(self, word):
        return Q(institution__icontains=word)


class RequestFilter(_SharedFilters):
    recipient_country = django_filters.ModelChoiceFilter(
        queryset=Country.objects.all(), help_text="ISO 3166-1 alpha-3."
    )
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)

    class Meta:
        model = ExchangeRequest
        fields = ["recipient_country", "status"]


def _offer_action(name: str):
    def handler(self, request, pk=None):
        offer = self.get_object()
        services.offer_check(offer=offer, user=request.user)
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        offer = services.offer_transition(
            offer=offer, user=request.user, action=name, reason=body.validated_data["reason"]
        )
        return Response(self.represent(offer))

    handler.__name__ = name
    handler.__doc__ = (
        f"The offer's author or a fund manager {name}es it; a move its status does not "
        "allow is a 409 `invalid_transition`."
    )
    handler = action(detail=True, methods=["post"], url_path=name, url_name=name)(handler)
    return extend_schema(request=ReasonSerializer, responses={200: OfferSerializer, **REFUSALS})(
        handler
    )


@extend_schema_view(
    list=extend_schema(
        responses={
            200: OfferSerializer(many=True),
            400: REFUSALS[400],
        },
        description="Published offers (and your own drafts; every offer for fund managers). "
        "Anonymous visitors get them without `contact_name` and `contact_email`.",
    ),
    retrieve=extend_schema(responses={200: OfferSerializer, 404: REFUSALS[404]}),
    create=extend_schema(request=OfferSerializer, responses={201: OfferSerializer, **REFUSALS}),
    partial_update=extend_schema(
        request=OfferSerializer, responses={200: OfferSerializer, **REFUSALS}
    ),
)
class OfferViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ScopedViewSet,
):
    """Knowledge offers: what a provider country's institution can share. Anyone reads
    published offers (anonymous visitors without `contact_name` and `contact_email`);
    task team leaders and fund managers draft them, and publish or withdraw them (a
    leader their own, a fund manager any)."""

    scope = staticmethod(selectors.offers_visible_to)
    permission_classes = [BrokeringPermission]
    write_rule = staticmethod(can_write_offers)
    filter_backends = [NamedFiltersBackend]
    filterset_class = OfferFilter
    schema = PublicReadSchema()
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = r"\d+"
    queryset = Offer.objects.none()

    def get_serializer_class(self):
        if can_see_contacts(self.request.user):
            return OfferSerializer
        return PublicOfferSerializer

    def refine(self, offers):
        return (
            selectors.with_capacity(offers)
            .select_related("provider_country")
            .prefetch_related("sectors")
            .order_by("id")
        )

    def represent(self, offer):
        offer = self.get_queryset().get(pk=offer.pk)
        return self.get_serializer(offer).data

    def list(self, request, *args, **kwargs):
        # Rows, not model instances (``OFFER_ROWS``): the count, the page, its sectors.
        rows = OFFER_ROWS if can_see_contacts(request.user) else PUBLIC_OFFER_ROWS
        offers = self.filter_queryset(selectors.with_capacity(self.scoped()).order_by("id"))
        counted = None
        if not filters_given(OfferFilter, request.query_params):  # the whole catalogue
            counted = partial(selectors.offers_visible_count, request.user)
        page = self.paginate_queryset(Rows(offers, rows.read, counted=counted))
        return self.get_paginated_response(rows.represent(page))

    def create(self, request, *args, **kwargs):
        serializer = OfferSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        offer = services.offer_create(user=request.user, **serializer.validated_data)
        return Response(self.represent(offer), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        offer = self.get_object()
        services.offer_check(offer=offer, user=request.user)
        serializer = OfferSerializer(offer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        offer = services.offer_update(offer=offer, user=request.user, **serializer.validated_data)
        return Response(self.represent(offer))

    publish = _offer_action("publish")
    withdraw = _offer_action("withdraw")


LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    int,
    description=f"At most this many suggestions (default {scoring.DEFAULT_LIMIT}, "
    f"at most {scoring.MAX_LIMIT}).",
)


@extend_schema_view(
    list=extend_schema(
        responses={
            200: RequestSerializer(many=True),
            400: REFUSALS[400],
            401: REFUSALS[401],
            403: REFUSALS[403],
        }
    ),
    retrieve=extend_schema(
        responses={
            200: RequestSerializer,
            401: REFUSALS[401],
            403: REFUSALS[403],
            404: REFUSALS[404],
        }
    ),
    create=extend_schema(request=RequestSerializer, responses={201: RequestSerializer, **REFUSALS}),
    partial_update=extend_schema(
        request=RequestSerializer, responses={200: RequestSerializer, **REFUSALS}
    ),
)
class RequestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ScopedViewSet,
):
    """Exchange requests: a recipient country's knowledge gap. Signed-in users read
    them; task team leaders (their own) and fund managers write, close and match them.
    A request is edited only while `open`."""

    scope = staticmethod(selectors.requests_visible_to)
    serializer_class = RequestSerializer
    permission_classes = [BrokeringPermission]
    read_rule = staticmethod(can_read_requests)
    write_rule = staticmethod(can_write_requests)
    filter_backends = [NamedFiltersBackend]
    filterset_class = RequestFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = r"\d+"
    queryset = ExchangeRequest.objects.none()

    def refine(self, requests):
        return (
            requests.select_related("requested_by", "match", "recipient_country")
            .prefetch_related("sectors")
            .order_by("id")
        )

    def represent(self, request_obj):
        return RequestSerializer(self.get_queryset().get(pk=request_obj.pk)).data

    def create(self, request, *args, **kwargs):
        serializer = RequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.request_create(user=request.user, **serializer.validated_data)
        return Response(self.represent(created), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        obj = self.get_object()
        services.request_check(request=obj, user=request.user)
        serializer = RequestSerializer(obj, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        obj = services.request_update(request=obj, user=request.user, **serializer.validated_data)
        return Response(self.represent(obj))

    @extend_schema(
        parameters=[LIMIT_PARAMETER],
        responses={
            200: SuggestionSerializer(many=True),
            400: REFUSALS[400],
            401: REFUSALS[401],
            403: REFUSALS[403],
            404: REFUSALS[404],
        },
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def suggestions(self, request, pk=None):
        """Published offers for this request, best first, each with its `score` and the
        `reasons` that make it (the weights are in the README); ties broken by the
        offer's id, ascending. Never an offer from the recipient country."""
        obj = self.get_object()
        limit = _limit(request.query_params.get("limit"))
        year = timezone.localdate().year
        # The same for every reader allowed to see the request (the scope checked above):
        # kept rendered until the offers, requests, matches, grants or reports under it
        # change (seetf.common.datacache: brokering is one of the tracked apps).
        return cached_response(
            self,
            request,
            ("suggestions", obj.pk, limit, year),
            lambda: self._suggestions(obj, limit, year),
        )

    def _suggestions(self, obj, limit: int, year: int) -> list[dict]:
        found = scoring.suggest(obj, limit=limit, year=year)
        # The offers shown as rows (OfferSerializer's JSON): the offers, their sectors.
        rows = OFFER_ROWS.read(
            selectors.with_capacity(Offer.objects.filter(pk__in=[s.offer_id for s in found]), year)
        )
        offers = dict(zip((row["id"] for row in rows), OFFER_ROWS.represent(rows), strict=True))
        shown = [offers[s.offer_id] for s in found]
        return [
            {"offer": offer, "score": s.score, "reasons": s.reasons}
            for s, offer in zip(found, shown, strict=True)
        ]

    @extend_schema(request=MatchInputSerializer, responses={201: MatchResultSerializer, **REFUSALS})
    @action(detail=True, methods=["post"])
    def match(self, request, pk=None):
        """Accept a suggestion: a draft grant for the request's author, filled from the
        request and the offer (countries, sector, a planned exchange per instrument both
        want), linked to both; the request becomes `matched`. The request's author or a
        fund manager; an open request (409); a published offer not from the recipient
        country (400 on `offer`)."""
        obj = self.get_object()
        services.request_check(request=obj, user=request.user)
        body = MatchInputSerializer(data=request.data)
        body.fields["offer"].queryset = selectors.offers_visible_to(request.user)
        body.is_valid(raise_exception=True)
        found = services.request_match(
            request=obj, offer=body.validated_data["offer"], user=request.user
        )
        return Response(
            {"grant": found.grant_id, "request": found.request_id, "offer": found.offer_id},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=ReasonSerializer, responses={200: RequestSerializer, **REFUSALS})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close an open request without a match (its author or a fund manager)."""
        obj = self.get_object()
        services.request_check(request=obj, user=request.user)
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        obj = services.request_close(
            request=obj, user=request.user, reason=body.validated_data["reason"]
        )
        return Response(self.represent(obj))


def _limit(raw) -> int:
    if raw in (None, ""):
        return scoring.DEFAULT_LIMIT
    if not str(raw).isdigit() or not (1 <= int(raw) <= scoring.MAX_LIMIT):
        raise ValidationError(
            {
                "limit": [
                    _("A whole number from 1 to %(max_limit)s.") % {"max_limit": scoring.MAX_LIMIT}
                ]
            }
        )
    return int(raw)
