"""The collaboration API (API.md, "Working on a grant"): a grant's `comments/`, the
user's `notifications/` and marking them read."""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from grants.api.views import GrantChildViewSet
from seetf.common.api import ErrorSerializer, ScopedAPIView, ScopedReadOnlyViewSet
from seetf.common.filters import IdLastOrderingFilter, NamedFiltersBackend
from seetf.common.pagination import Rows

from .. import selectors, services
from ..models import Notification, NotificationKind
from ..permissions import can_discuss
from .serializers import (
    NOTIFICATION_ROWS,
    GrantCommentSerializer,
    MarkedReadSerializer,
    MarkReadSerializer,
    NotificationSerializer,
)

REFUSALS = {
    403: OpenApiResponse(
        ErrorSerializer,
        description="Sees the grant but takes no part in its discussion (a donor, another leader).",
    ),
    404: OpenApiResponse(description="No such grant, or not visible to this user."),
}


@extend_schema_view(
    list=extend_schema(responses={200: GrantCommentSerializer(many=True), **REFUSALS}),
    create=extend_schema(responses={201: GrantCommentSerializer, **REFUSALS}),
)
class CommentViewSet(GrantChildViewSet, mixins.ListModelMixin, mixins.CreateModelMixin):
    """A grant's discussion between its task team leader, the fund managers and its
    window's approvers, oldest first. Comments are never edited nor deleted: a
    correction is a new comment."""

    scope = staticmethod(selectors.comments_visible_to)
    serializer_class = GrantCommentSerializer
    grant_rule = staticmethod(can_discuss)
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at", "id"]

    def refine(self, comments):
        return comments.filter(grant=self.grant).select_related("author")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_create(
            grant=self.grant, user=request.user, body=serializer.validated_data["body"]
        )
        return Response(GrantCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", label=_("Only the unread (true) or read.")
    )
    kind = django_filters.ChoiceFilter(choices=NotificationKind.choices)

    class Meta:
        model = Notification
        fields = ["unread", "kind"]


class NotificationViewSet(ScopedReadOnlyViewSet):
    """The user's own notifications, newest first (`?unread=true`: not yet read)."""

    scope = staticmethod(selectors.notifications_visible_to)
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    filter_backends = [NamedFiltersBackend, IdLastOrderingFilter]
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def list(self, request, *args, **kwargs):
        # Rows, not model instances (``NOTIFICATION_ROWS``): the page and the count, in
        # one statement however many notifications the user has.
        notifications = self.filter_queryset(self.scoped())
        page = self.paginate_queryset(
            Rows(notifications, NOTIFICATION_ROWS.read, counted_in_page=True)
        )
        return self.get_paginated_response(NOTIFICATION_ROWS.represent(page))


class NotificationReadView(ScopedAPIView):
    """Mark the user's notifications read: those of `ids` (ids of others', or of ones
    already read, are ignored), or all of them when `ids` is left out."""

    scope = staticmethod(selectors.notifications_visible_to)

    @extend_schema(request=MarkReadSerializer, responses={200: MarkedReadSerializer})
    def post(self, request):
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        read = services.notifications_mark_read(
            user=request.user, ids=serializer.validated_data.get("ids")
        )
        unread = self.scoped().filter(read_at__isnull=True).count()
        return Response({"read": read, "unread": unread})
