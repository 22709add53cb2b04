"""`/api/v1/lessons/`: lessons with evidence (API.md, After the exchange).

Anyone, anonymous users included, reads reviewed lessons; a grant's leader writes its
lessons (POST, PATCH while not yet approved) and sees them before review; fund managers
see every lesson and review it: `approve/` lets it through to the public hub, `return/`
sends it back with a comment. Every write goes through ``results.services`` and is
audited there.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from grants.models import CapacityOutcome
from grants.selectors import grants_visible_to
from partners.models import Region
from partners.roles import is_task_team_leader
from seetf.common.api import ErrorSerializer, ScopedViewSet
from seetf.common.errors import ApplicationError

from .. import selectors, services
from ..filters import LessonFilter
from ..models import CompletionReport, EvidenceLevel, Lesson
from .serializers import CommentSerializer
from .stories import PublicReadSchema, StoryPermission

REFUSALS = {
    400: OpenApiResponse(description="Invalid fields."),
    401: OpenApiResponse(description="No credentials."),
    403: OpenApiResponse(
        ErrorSerializer, description="Not this grant's leader / not a fund manager."
    ),
    404: OpenApiResponse(description="No such lesson, or not one this user may see."),
}
CONFLICT = OpenApiResponse(
    ErrorSerializer, description="`invalid_transition`: not in a state that allows it."
)
OUTCOME_CODES = serializers.ListField(child=serializers.ChoiceField(CapacityOutcome.choices))


class LessonSerializer(serializers.ModelSerializer):
    """A lesson as readers see it, with its grant's facts (the hub filters on them)."""

    reference = serializers.CharField(source="grant.reference", read_only=True)
    title = serializers.CharField(source="grant.title", read_only=True)
    sector = serializers.CharField(source="grant.sector_id", read_only=True, help_text="DAC code.")
    region = serializers.ChoiceField(source="grant.region", choices=Region.choices, read_only=True)
    countries = serializers.SerializerMethodField(help_text="The grant's recipient countries.")
    outcomes = serializers.SerializerMethodField(help_text="The capacity outcomes it concerns.")

    class Meta:
        model = Lesson
        fields = [
            "id",
            "grant",
            "reference",
            "title",
            "sector",
            "region",
            "countries",
            "completion_report",
            "what_worked",
            "what_did_not",
            "why",
            "outcomes",
            "evidence_level",
            "review_status",
            "review_comment",
            "reviewed_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_countries(self, lesson) -> list[str]:
        return [country.code for country in lesson.grant.recipient_countries.all()]

    @extend_schema_field(OUTCOME_CODES)
    def get_outcomes(self, lesson) -> list[str]:
        return [outcome.code for outcome in lesson.outcomes.all()]


class LessonInputSerializer(serializers.Serializer):
    """What a leader sends. At least one of the three texts; ``grant`` only on
    creation (a lesson stays with its grant)."""

    grant = serializers.PrimaryKeyRelatedField(queryset=grants_visible_to(None))
    completion_report = serializers.PrimaryKeyRelatedField(
        queryset=CompletionReport.objects.all(), required=False, allow_null=True
    )
    what_worked = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    what_did_not = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    why = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    outcomes = serializers.ListField(
        child=serializers.ChoiceField(CapacityOutcome.choices),
        max_length=len(CapacityOutcome.values),
        required=False,
    )
    evidence_level = serializers.ChoiceField(choices=EvidenceLevel.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = request.user if request else None
        # Only a grant the writer sees can be named (any other "does not exist").
        self.fields["grant"].queryset = grants_visible_to(user)
        self.fields["completion_report"].queryset = CompletionReport.objects.filter(
            grant__in=grants_visible_to(user)
        )
        if self.partial:
            self.fields.pop("grant")

    def validate(self, attrs):
        for name in services.LESSON_TEXT_FIELDS:
            value = attrs.get(name, "")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise serializers.ValidationError(
                    {name: [_("Text must be valid Unicode.")]}
                ) from exc
        return attrs


def _can_write_any_lesson(user) -> tuple[bool, str]:
    """Before the body is read: only task team leaders write lessons (which grant's is
    decided by the service, under the grant's rule)."""
    if user.is_superuser or is_task_team_leader(user):
        return True, ""
    return False, _("Only task team leaders write lessons, for their own grants.")


def _review_action(name: str, attribute: str, service):
    def handler(self, request, pk=None):
        lesson = self.get_object()
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lesson = service(lesson=lesson, user=request.user, comment=body.validated_data["comment"])
        return Response(self._represent(lesson.pk))

    handler.__name__ = attribute
    handler = action(detail=True, methods=["post"], url_path=name, url_name=name)(handler)
    return extend_schema(
        request=CommentSerializer,
        responses={200: LessonSerializer, **REFUSALS, 409: CONFLICT},
        description=(
            "A fund manager approves a waiting lesson (it reaches the public hub)."
            if name == "approve"
            else "A fund manager returns a waiting or approved lesson to its leader "
            "(it leaves the hub)."
        ),
    )(handler)


@extend_schema_view(
    list=extend_schema(responses={200: LessonSerializer(many=True)}),
    retrieve=extend_schema(responses={200: LessonSerializer, 404: REFUSALS[404]}),
    create=extend_schema(
        request=LessonInputSerializer, responses={201: LessonSerializer, **REFUSALS}
    ),
    partial_update=extend_schema(
        request=LessonInputSerializer,
        responses={200: LessonSerializer, **REFUSALS, 409: CONFLICT},
    ),
)
class LessonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Lessons with evidence: what worked, what did not and why, the capacity outcomes
    they concern and their `evidence_level`. Anyone reads reviewed lessons (no
    credentials needed); a grant's leader writes its lessons and sees them before
    review; fund managers see all and review them (`approve/`, `return/`). Newest
    review first; best match first with `search`."""

    scope = staticmethod(selectors.lessons_visible_to)
    serializer_class = LessonSerializer
    permission_classes = [StoryPermission]
    write_rule = staticmethod(lambda user: (True, ""))
    filterset_class = LessonFilter
    schema = PublicReadSchema()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def refine(self, lessons):
        return selectors.with_lesson_relations(lessons)

    def _represent(self, pk):
        return LessonSerializer(self.get_queryset().get(pk=pk)).data

    def _input(self, **kwargs) -> dict:
        serializer = LessonInputSerializer(
            data=self.request.data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request, *args, **kwargs):
        allowed, reason = _can_write_any_lesson(request.user)
        if not allowed:
            raise ApplicationError(reason, code="permission_denied", status=403)
        lesson = services.lesson_create(user=request.user, **self._input())
        return Response(self._represent(lesson.pk), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        lesson = self.get_object()
        # Who and the state refuse before the body is read: a 403 or 409 whatever is sent.
        services.lesson_update_check(lesson=lesson, user=request.user)
        lesson = services.lesson_update(
            lesson=lesson, user=request.user, **self._input(partial=True)
        )
        return Response(self._represent(lesson.pk))

    approve = _review_action("approve", "approve", services.lesson_approve)
    return_ = _review_action("return", "return_", services.lesson_return)
