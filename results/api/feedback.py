"""Participant feedback on an exchange, for staff (the participants' form is a page,
``results.views.feedback_form``):

- ``/grants/{id}/exchanges/{id}/feedback-links/``: fund managers and the grant's leader
  list the exchange's links and open one (its token is in the answer to the POST, and
  never again); ``.../feedback-links/{id}/close/`` closes one.
- ``/grants/{id}/exchanges/{id}/feedback/``: the answers' aggregates, for anyone who
  sees the grant.
"""

from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from grants.api.views import GrantChildViewSet, VisibleGrantsMixin
from grants.models import Exchange
from grants.selectors import exchanges_visible_to
from seetf.common.api import ErrorSerializer, RulePermission, ScopedAPIView

from .. import permissions as rules
from .. import selectors, services
from ..models import FeedbackLink

REFUSALS = {
    401: OpenApiResponse(description="No credentials."),
    403: OpenApiResponse(
        ErrorSerializer, description="Not a fund manager nor the grant's task team leader."
    ),
    404: OpenApiResponse(description="No such grant, exchange or link, or not one this user sees."),
}


class FeedbackLinkSerializer(serializers.ModelSerializer):
    """A feedback link, without its token (only its hash is kept)."""

    state = serializers.SerializerMethodField(help_text="`open`, `expired` or `closed`.")
    answers = serializers.IntegerField(source="answer_count", read_only=True)

    class Meta:
        model = FeedbackLink
        fields = ["id", "exchange", "expires_at", "closed_at", "created_at", "state", "answers"]
        read_only_fields = fields

    def get_state(self, link) -> str:
        if link.closed_at is not None:
            return "closed"
        return "expired" if link.expires_at <= self.context["now"] else "open"


class FeedbackLinkCreatedSerializer(FeedbackLinkSerializer):
    token = serializers.CharField(
        read_only=True, help_text="Shown this once; only its hash is kept."
    )
    url = serializers.CharField(read_only=True, help_text="The participants' page.")

    class Meta(FeedbackLinkSerializer.Meta):
        fields = [*FeedbackLinkSerializer.Meta.fields, "token", "url"]
        read_only_fields = fields


class FeedbackLinkInputSerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=366,
        required=False,
        help_text="How many days the link stays open (default SEETF_FEEDBACK_LINK_DAYS).",
    )


class FeedbackSummarySerializer(serializers.Serializer):
    exchange = serializers.IntegerField()
    answers = serializers.IntegerField()
    relevance_mean = serializers.FloatField(allow_null=True, help_text="1-5; null with no answer.")
    usefulness_mean = serializers.FloatField(allow_null=True)
    intention_mean = serializers.FloatField(allow_null=True)
    share_intending_to_apply = serializers.FloatField(
        allow_null=True, help_text="Share of answers rating their intention to apply 4 or 5."
    )


class ExchangeMixin:
    """The exchange a URL names, among the grant's (another grant's is a 404)."""

    @property
    def exchange(self) -> Exchange:
        if not hasattr(self, "_exchange"):
            self._exchange = get_object_or_404(
                Exchange.objects.select_related("grant").filter(grant=self.grant),
                pk=self.kwargs["exchange_pk"],
            )
        return self._exchange


@extend_schema_view(
    list=extend_schema(responses={200: FeedbackLinkSerializer(many=True), **REFUSALS}),
    create=extend_schema(
        request=FeedbackLinkInputSerializer,
        responses={
            201: FeedbackLinkCreatedSerializer,
            **REFUSALS,
            409: OpenApiResponse(
                ErrorSerializer,
                description="`invalid_transition`: a cancelled exchange, "
                "or a grant not yet approved.",
            ),
        },
    ),
)
class FeedbackLinkViewSet(ExchangeMixin, GrantChildViewSet, mixins.ListModelMixin):
    """An exchange's feedback links: fund managers and the grant's task team leader open
    them (the participants' page is `/feedback/<token>/`, no login), list them and close
    them. The token is returned once, by the POST that opens the link."""

    scope = staticmethod(selectors.feedback_links_visible_to)
    serializer_class = FeedbackLinkSerializer
    grant_rule = staticmethod(rules.can_manage_feedback)

    def refine(self, links):
        return (
            links.filter(exchange=self.exchange)
            .annotate(answer_count=Count("answers"))
            .order_by("-created_at", "-id")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def create(self, request, *args, **kwargs):
        services.feedback_link_check(exchange=self.exchange, user=request.user)
        body = FeedbackLinkInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        link, token = services.feedback_link_open(
            exchange=self.exchange, user=request.user, **body.validated_data
        )
        link = self.get_queryset().get(pk=link.pk)
        link.token = token
        link.url = request.build_absolute_uri(reverse("results:feedback", args=[token]))
        data = FeedbackLinkCreatedSerializer(link, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: FeedbackLinkSerializer,
            **REFUSALS,
            409: OpenApiResponse(ErrorSerializer, description="`invalid_transition`: closed."),
        },
    )
    def close(self, request, *args, **kwargs):
        link = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        services.feedback_link_close(link=link, user=request.user)
        link = self.get_queryset().get(pk=link.pk)
        return Response(self.get_serializer(link).data)


class ExchangeFeedbackView(ExchangeMixin, VisibleGrantsMixin, ScopedAPIView):
    """What an exchange's participants answered: how many, the mean of each rating
    (1-5) and the share intending to apply what they learned (4 or 5). For anyone who
    sees the grant."""

    scope = staticmethod(exchanges_visible_to)
    permission_classes = [RulePermission]

    @property
    def grant(self):
        if not hasattr(self, "_grant"):
            self._grant = self.get_grant(self.kwargs["grant_pk"])
        return self._grant

    def refine(self, exchanges):
        return exchanges.filter(grant=self.grant)

    @extend_schema(responses={200: FeedbackSummarySerializer, **REFUSALS})
    def get(self, request, grant_pk, exchange_pk):
        exchange = get_object_or_404(self.get_queryset(), pk=exchange_pk)
        return Response({"exchange": exchange.pk, **selectors.exchange_feedback(exchange)})
