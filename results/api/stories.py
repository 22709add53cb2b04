"""The public face of results: results stories (the knowledge hub's lessons are
``results.api.lessons``).

``/results-stories/``: anyone, anonymous users included, reads published stories;
fund managers also read drafts, write (POST, PATCH) and publish or unpublish.
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from grants.models import CapacityOutcome, Grant
from grants.selectors import grants_visible_to
from partners.models import Country, Sector
from seetf.common.api import ErrorSerializer, ScopedViewSet
from seetf.common.filters import NamedFiltersBackend
from seetf.common.pagination import Rows
from seetf.common.rows import Related, RowRepresentation

from .. import permissions as rules
from .. import selectors, services
from ..filters import ResultsStoryFilter
from ..models import ResultsStory

STORY_REFUSALS = {
    401: OpenApiResponse(description="No credentials."),
    403: OpenApiResponse(ErrorSerializer, description="Only fund managers write stories."),
    404: OpenApiResponse(description="No such story, or a draft and not a fund manager."),
}
OUTCOME_CODES = serializers.ListField(child=serializers.ChoiceField(CapacityOutcome.choices))


def _no_lone_surrogates(value: str) -> None:
    """Text that cannot be stored as UTF-8 (a lone surrogate, as JSON's "\\ud800"
    allows) is a 400, not a database or sanitizer error."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise serializers.ValidationError(_("Text must be valid Unicode.")) from exc


# --- Serializers ---------------------------------------------------------------------


class ResultsStorySerializer(serializers.ModelSerializer):
    """A story as readers see it: ``body`` is the Markdown source, ``body_html`` its
    sanitized rendering (safe to insert in a page as it is)."""

    grant_reference = serializers.CharField(source="grant.reference", read_only=True)
    sectors = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="OECD DAC 5-digit purpose codes."
    )
    countries = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="ISO 3166-1 alpha-3 codes."
    )
    outcomes = serializers.SerializerMethodField(
        help_text="The intermediate capacity outcomes the story tells of."
    )

    class Meta:
        model = ResultsStory
        fields = [
            "id",
            "slug",
            "grant",
            "grant_reference",
            "title",
            "body",
            "body_html",
            "sectors",
            "countries",
            "outcomes",
            "published",
            "published_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OUTCOME_CODES)
    def get_outcomes(self, story) -> list[str]:
        return [outcome.code for outcome in story.outcomes.all()]


# The knowledge hub's stories, from rows (seetf.common.rows): ResultsStorySerializer's
# JSON, with its columns and conversions taken from its declaration. The hub is read, by
# anyone, far more often than a story is written: model instances with three prefetched
# relations, walked by a ModelSerializer, cost its list several times what its queries
# do. The sectors, countries and outcomes of a page are read in one statement.
STORY_ROWS = RowRepresentation(
    ResultsStorySerializer,
    declared={"outcomes": Related("outcomes")},  # get_outcomes: the outcomes' codes
)


class ResultsStoryInputSerializer(serializers.Serializer):
    """What a fund manager sends to write a story. Left out on creation, ``sectors``,
    ``countries`` and ``outcomes`` come from the grant (its sector, its recipient
    countries, the outcomes its completion report achieved)."""

    grant = serializers.PrimaryKeyRelatedField(
        queryset=Grant.objects.none(), help_text="An approved (or later) grant's id."
    )
    title = serializers.CharField(max_length=services.TITLE_MAX, validators=[_no_lone_surrogates])
    body = serializers.CharField(
        max_length=services.BODY_MAX,
        trim_whitespace=False,
        validators=[_no_lone_surrogates],
        help_text="Markdown: headings, lists, emphasis, links, quotes, code, tables.",
    )
    sectors = serializers.ListField(
        child=serializers.CharField(max_length=5),
        max_length=50,
        required=False,
        help_text="OECD DAC 5-digit purpose codes.",
    )
    countries = serializers.ListField(
        child=serializers.CharField(max_length=3),
        max_length=300,
        required=False,
        help_text="ISO 3166-1 alpha-3 codes.",
    )
    outcomes = serializers.ListField(
        child=serializers.ChoiceField(CapacityOutcome.choices),
        max_length=len(CapacityOutcome.values),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = request.user if request else None
        # Only a grant the writer may see can be named (any other is "does not exist").
        self.fields["grant"].queryset = grants_visible_to(user)

    def validate_sectors(self, codes):
        return _existing(Sector, codes)

    def validate_countries(self, codes):
        return _existing(Country, codes)


def _existing(model, codes: list[str]) -> list:
    """The rows of these codes, in one query; unknown codes are a 400."""
    codes = list(dict.fromkeys(codes))
    found = model.objects.in_bulk(codes)
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise serializers.ValidationError(
            _("Unknown code(s): %(unknown)s.") % {"unknown": ", ".join(unknown)}
        )
    return [found[code] for code in codes]


# --- Views -------------------------------------------------------------------------------


class PublicReadSchema(AutoSchema):
    """Documents that reading needs no credentials (an empty security requirement)."""

    def get_auth(self):
        auths = super().get_auth()
        if self.method in permissions.SAFE_METHODS:
            auths.append({})
        return auths


class StoryPermission(permissions.BasePermission):
    """Reading is open to anyone: the queryset decides what each user sees. Writing
    needs credentials (401) and the view's ``write_rule`` (403): on creation at once,
    on an existing story once it was found among the stories the user may see, so a
    draft stays a 404 to those who may not see it."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        if not request.user or not request.user.is_authenticated:
            return False
        if getattr(view, "action", None) == "create":
            return self._allowed(view.write_rule(request.user))
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return self._allowed(view.write_rule(request.user))

    def _allowed(self, rule_result: tuple[bool, str]) -> bool:
        allowed, reason = rule_result
        if not allowed:
            self.message = reason
        return allowed


def _story_action(name: str, service):
    """`POST /results-stories/{id}/<name>/`: publish or unpublish."""

    def handler(self, request, pk=None):
        story = service(story=self.get_object(), user=request.user)
        return Response(STORY_ROWS.represent_pk(story.pk))

    handler.__name__ = name
    handler.__doc__ = f"Fund managers {name} a story; doing it twice is a 409 `invalid_transition`."
    handler = action(detail=True, methods=["post"], url_path=name, url_name=name)(handler)
    # On top of @action: @action replaces the function's ``kwargs``, where
    # extend_schema keeps its override, so the other order would lose it.
    return extend_schema(
        request=None,
        responses={
            200: ResultsStorySerializer,
            **STORY_REFUSALS,
            409: OpenApiResponse(ErrorSerializer, description="Already in that state."),
        },
    )(handler)


@extend_schema_view(
    list=extend_schema(responses={200: ResultsStorySerializer(many=True)}),
    retrieve=extend_schema(responses={200: ResultsStorySerializer, 404: STORY_REFUSALS[404]}),
    create=extend_schema(
        request=ResultsStoryInputSerializer,
        responses={201: ResultsStorySerializer, **STORY_REFUSALS},
    ),
    partial_update=extend_schema(
        request=ResultsStoryInputSerializer,
        responses={200: ResultsStorySerializer, **STORY_REFUSALS},
    ),
)
class ResultsStoryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ScopedViewSet,
):
    """Results stories: what grants achieved, told for everyone. Anyone reads published
    stories (no credentials needed); fund managers also see drafts, write them
    (POST, PATCH) and publish or unpublish them. With `search`, results come best
    match first."""

    scope = staticmethod(selectors.stories_visible_to)
    serializer_class = ResultsStorySerializer
    permission_classes = [StoryPermission]
    write_rule = staticmethod(rules.can_write_stories)
    filter_backends = [NamedFiltersBackend]
    filterset_class = ResultsStoryFilter
    schema = PublicReadSchema()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def refine(self, stories):
        return selectors.with_story_relations(stories)

    def _readable_stories(self):
        """The stories this user may see, filtered as asked, in the list's order (best
        match first with ``search``): what ``get_queryset`` gives, without the relations
        that only the serializer (and so the writes) reads."""
        stories = self.scoped()
        return self.filter_queryset(stories.order_by(*selectors.STORY_ORDER))

    # list and retrieve carry no docstring: drf-spectacular would make it the operation's
    # description in the schema, in place of the class's.

    def list(self, request, *args, **kwargs):
        # Rows, not model instances (``STORY_ROWS``): the page with the count (a search
        # matched once), then its relations: two queries whatever the page size.
        page = self.paginate_queryset(
            Rows(self._readable_stories(), STORY_ROWS.read, counted_in_page=True)
        )
        return self.get_paginated_response(STORY_ROWS.represent(page))

    def retrieve(self, request, *args, **kwargs):
        # Read as the list is, refused as ``get_object`` refuses: a story this user may
        # not see, or not matching the filters given, or an id that is not one, is a 404.
        try:
            rows = STORY_ROWS.read(self._readable_stories().filter(pk=self.kwargs["pk"]))
        except (TypeError, ValueError, ValidationError):
            raise Http404 from None
        if not rows:
            raise Http404(
                _("No %(object_name)s matches the given query.")
                % {"object_name": ResultsStory._meta.object_name}
            )
        return Response(STORY_ROWS.represent_one(rows[0]))

    def _input(self, **kwargs) -> dict:
        serializer = ResultsStoryInputSerializer(
            data=self.request.data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request, *args, **kwargs):
        story = services.story_create(user=request.user, **self._input())
        return Response(STORY_ROWS.represent_pk(story.pk), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        story = self.get_object()
        story = services.story_update(story=story, user=request.user, **self._input(partial=True))
        return Response(STORY_ROWS.represent_pk(story.pk))

    publish = _story_action("publish", services.story_publish)
    unpublish = _story_action("unpublish", services.story_unpublish)
