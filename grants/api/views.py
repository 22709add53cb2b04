from django.db.models import Prefetch
from django.http import Http404
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from partners.api.serializers import ReversalInputSerializer
from partners.models import Country
from partners.permissions import can_read_reference_data
from seetf.common.api import ErrorSerializer, RulePermission, ScopedViewSet
from seetf.common.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from seetf.common.prepared import Prepared
from seetf.common.rows import RELATIONS
from seetf.common.rules import require

from .. import selectors, services, workflow
from ..filters import (
    GRANT_ORDERING_FIELDS,
    GrantFilter,
    GrantFilterBackend,
    GrantOrderingFilter,
    status_scope,
)
from ..models import Grant
from ..permissions import can_create_grant, can_decide_grant, can_disburse
from .pagination import GrantPagination
from .serializers import (
    GRANT_DETAIL_ROWS,
    ChainSerializer,
    DisbursementSerializer,
    ExchangeSerializer,
    FundSummarySerializer,
    GrantDetailSerializer,
    GrantRows,
    GrantSerializer,
    HistorySerializer,
    LinkParentSerializer,
    ProposeFollowOnSerializer,
    grant_representations,
    represent_grant,
)

REFUSALS = {
    403: OpenApiResponse(ErrorSerializer, description="The role may not take this action."),
    404: OpenApiResponse(description="No such grant, or not visible to this user."),
    409: OpenApiResponse(ErrorSerializer, description="A business rule refused it."),
}


# One instance for every request: a serializer copies its declared fields when made, and
# this one holds nothing of a request (its fields write the values they are given).
FUND_SUMMARY = FundSummarySerializer()


class FundSummaryView(APIView):
    """The fund's money: pledged, received, committed, disbursed, available, pipeline."""

    permission_classes = [RulePermission]
    read_rule = staticmethod(can_read_reference_data)

    @extend_schema(responses={200: FundSummarySerializer})
    def get(self, request):
        return Response(FUND_SUMMARY.to_representation(selectors.fund_summary()))


class VisibleGrantsMixin:
    """The grant a URL names, from ``grants_visible_to(user)``: a grant a user may not
    see is a 404 everywhere, never a 403. (The rows a view reads come from its declared
    scope, ``seetf.common.api.ScopedViewMixin``.)"""

    def visible_grants(self):
        return selectors.grants_visible_to(self.request.user)

    def get_grant(self, pk) -> Grant:
        return get_object_or_404(self.visible_grants(), pk=pk)


def _with_relations(queryset):
    countries = Country.objects.only("code")
    return queryset.select_related(None).prefetch_related(
        Prefetch("recipient_countries", queryset=countries),
        Prefetch("provider_countries", queryset=countries),
        "facilitating_partners",
        "partner_roles__partner",
        "brokered_match",
    )


def _detail(shape, *, pk, user):
    """The detail's row (the columns of the shape's RowRepresentation, GRANT_DETAIL_ROWS)
    of grant ``pk`` if the user of id ``user``, whose ``selectors.user_shape`` is the
    shape's second part, may see it: the viewset's scope, ``grants_visible_to``. One row:
    unordered (the grant's Meta.ordering cost compiling and sorting)."""
    rows, user_shape = shape
    grants = selectors.grants_visible_to_shape(user_shape, user).filter(pk=pk).order_by()
    relations = rows.relations_column()
    if relations is None:
        return grants.values(*rows.columns)
    # On PostgreSQL its relations too: one query, not two.
    return grants.annotate(**{RELATIONS: relations}).values(*rows.columns, RELATIONS)


# Compiled once per shape of user (seetf.common.prepared): building and compiling the
# detail's statement cost the request more than running it.
_DETAIL = Prepared.keyed(_detail, "pk", "user", integers=("pk", "user"))


def _transition(step: workflow.Action):
    """The endpoint `POST /grants/{id}/<action>/` of one workflow action, as the table
    declares it: its request serializer, and an Idempotency-Key where it moves money."""
    name = step.name
    request_serializer = import_string(step.request)

    def handler(self, request, pk=None):
        grant = self.get_grant(pk)

        def apply():
            # Role and status first: a 403 or 409 before any 400 about the body. Inside
            # the idempotent handler, so that a retry of a done approval is replayed.
            services.grant_transition_check(grant=grant, user=request.user, action=name)
            serializer = request_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            updated = services.grant_transition(
                grant=grant, user=request.user, action=name, **serializer.validated_data
            )
            return Response(represent_grant(updated))

        return idempotent(request, apply) if step.idempotent else apply()

    handler.__name__ = _method_name(name)
    handler.__doc__ = f"Workflow action `{name}`; see the transition table in the API description."
    parameters = [IDEMPOTENCY_PARAMETER] if step.idempotent else []
    handler = action(detail=True, methods=["post"], url_path=name, url_name=name)(handler)
    # extend_schema on top of @action, or @action's own schema hides the refusals.
    return extend_schema(
        request=request_serializer,
        responses={200: GrantSerializer, **REFUSALS},
        parameters=parameters,
    )(handler)


def _method_name(action_name: str) -> str:
    return "return_" if action_name == "return" else action_name.replace("-", "_")


@extend_schema_view(
    partial_update=extend_schema(responses={200: GrantSerializer, **REFUSALS}),
    update=extend_schema(responses={200: GrantSerializer, **REFUSALS}),
)
class GrantViewSet(
    VisibleGrantsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """Grants. Task team leaders create proposals (drafts, private to them) and edit them
    while draft or returned; fund managers decide. Status moves only through the
    action endpoints: submit, start-review, return, reject, approve, cancel, close."""

    scope = staticmethod(selectors.grants_visible_to)
    serializer_class = GrantSerializer
    permission_classes = [RulePermission]
    filterset_class = GrantFilter
    filter_backends = [GrantFilterBackend, GrantOrderingFilter]
    pagination_class = GrantPagination
    write_rule = staticmethod(lambda user: (True, ""))
    ordering_fields = GRANT_ORDERING_FIELDS
    ordering = ["-created_at", "-id"]
    lookup_value_regex = r"\d+"

    def visible_grants(self):
        # The grants of this viewset are its scope: the list, detail and actions read it.
        return self.scoped()

    def refine(self, grants):
        return _with_relations(grants)

    def get_object(self):
        return self.get_grant(self.kwargs["pk"])

    def list(self, request, *args, **kwargs):
        """Reads rows, not model instances (``grants.selectors.grant_rows``): the count,
        the page and its relations, three queries whatever the page size or depth."""
        # The docstring is the list's description in the published schema, kept as it
        # is; the rows are now read by ``grant_rows`` of .serializers (GRANT_ROWS).
        grants = self.filter_queryset(self.visible_grants())
        page = self.paginate_queryset(GrantRows(grants, counted=self._counted(request)))
        return self.get_paginated_response(grant_representations(page))

    def _counted(self, request):
        """The list's count from the counts by status, when no filter but ``status`` is
        given (the filters have checked its values by now): None otherwise."""
        statuses = status_scope(request.user, request.query_params)
        if statuses is None:
            return None
        return lambda: selectors.grant_count_at(statuses)

    @extend_schema(responses={200: GrantDetailSerializer, 404: REFUSALS[404]})
    def retrieve(self, request, *args, **kwargs):
        """A grant, with ``allowed_actions``: each workflow action, whether the requesting
        user may take it now and, if not, why (the reason and code the action answers)."""
        user, pk = request.user, int(self.kwargs["pk"])
        rows = []
        if pk <= selectors.LARGEST_GRANT_KEY:
            shape = (GRANT_DETAIL_ROWS, selectors.user_shape(user))
            rows = GRANT_DETAIL_ROWS.complete(_DETAIL.rows(shape, pk=pk, user=user.pk))
        if not rows:
            raise Http404(_("No Grant matches the given query."))
        row = rows[0]
        row["allowed_actions"] = selectors.allowed_actions(
            request.user, selectors.workflow_grant(row)
        )
        return Response(GRANT_DETAIL_ROWS.represent_one(row))

    def create(self, request, *args, **kwargs):
        require(can_create_grant(request.user))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grant = services.grant_create(leader=request.user, **serializer.validated_data)
        return Response(represent_grant(grant), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        grant = self.get_object()
        services.grant_update_check(grant=grant, user=request.user)
        serializer = self.get_serializer(grant, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        grant = services.grant_update(grant=grant, user=request.user, **serializer.validated_data)
        return Response(represent_grant(grant))

    # One endpoint per workflow action that declares a request (grants.workflow), added
    # below the class: ``submit``, ``start-review``, ``return``, ``reject``, ``approve``,
    # ``cancel``, ``close``.

    @extend_schema(
        request=ProposeFollowOnSerializer,
        responses={
            201: GrantSerializer,
            400: OpenApiResponse(description="Bad relation."),
            **REFUSALS,
        },
    )
    @action(detail=True, methods=["post"], url_path="propose-follow-on", filterset_class=None)
    def propose_follow_on(self, request, pk=None):
        """A draft for the requesting task team leader (403 for other roles) filled from
        this grant (title, summary, sector, region, countries, window, outcomes, amount,
        the same length of time a month from today) and linked to it as its `parent`
        with the `relation` asked. The grant must be completed or closed: else 409
        `invalid_transition`."""
        grant = self.get_grant(pk)
        require(can_create_grant(request.user))
        serializer = ProposeFollowOnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = services.grant_propose_follow_on(
            parent=grant, user=request.user, **serializer.validated_data
        )
        return Response(represent_grant(draft), status=status.HTTP_201_CREATED)

    @extend_schema(request=LinkParentSerializer, responses={200: GrantSerializer, **REFUSALS})
    @action(detail=True, methods=["post"], url_path="link-parent", filterset_class=None)
    def link_parent(self, request, pk=None):
        """A fund manager records the grant this one follows on from or repeats (or,
        with `parent` null, removes it). 409 `invalid_transition` when the parent is not
        completed or closed, is this grant, or follows from it (no cycles); 400 for a
        parent the user cannot see."""
        grant = self.get_grant(pk)
        require(can_decide_grant(request.user, grant))
        serializer = LinkParentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parent = serializer.validated_data["parent"]
        if parent is not None and not self.visible_grants().filter(pk=parent.pk).exists():
            raise ValidationError(
                {"parent": [_('Invalid pk "%(pk)s" - object does not exist.') % {"pk": parent.pk}]}
            )
        grant = services.grant_link_parent(
            grant=grant,
            user=request.user,
            parent=parent,
            relation=serializer.validated_data["relation"],
        )
        return Response(represent_grant(grant))

    @extend_schema(responses={200: ChainSerializer, 404: REFUSALS[404]})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def chain(self, request, pk=None):
        """The grants this one follows on from (the root first) and those following on
        from it, at any depth, of those you may see."""
        grant = self.get_grant(pk)
        return Response(ChainSerializer(selectors.grant_chain(request.user, grant)).data)

    @extend_schema(responses={200: HistorySerializer(many=True), 404: REFUSALS[404]})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None):
        """Every state change of the grant, oldest first (append-only)."""
        grant = self.get_grant(pk)
        rows = grant.history.select_related("actor").order_by("at", "id")
        return Response(HistorySerializer(rows, many=True).data)


for _step in workflow.WORKFLOW.values():
    if _step.request is not None:
        setattr(GrantViewSet, _method_name(_step.name), _transition(_step))


class GrantChildViewSet(VisibleGrantsMixin, ScopedViewSet, abstract=True):
    """Base of the resources nested under a grant: the grant must be visible (404)
    before any rule of the resource is applied (403). A subclass's scope gives the
    resource's rows of every grant the user sees; ``refine`` narrows it to the URL's."""

    permission_classes = [RulePermission]
    write_rule = staticmethod(lambda user: (True, ""))
    filterset_class = None
    # (user, grant) -> (allowed, reason): who may use this resource of a grant they see.
    grant_rule = None

    @property
    def grant(self) -> Grant:
        if not hasattr(self, "_grant"):
            self._grant = self.get_grant(self.kwargs["grant_pk"])
        return self._grant

    def check_permissions(self, request):
        """401 without credentials; then 404 for a grant the user may not see, before
        any 403 (API.md: no existence leak); then the resource's rule."""
        super().check_permissions(request)
        if self.grant_rule is None or getattr(self, "swagger_fake_view", False):
            return
        allowed, reason = self.grant_rule(request.user, self.grant)
        if not allowed:
            self.permission_denied(request, message=reason, code="permission_denied")


@extend_schema_view(
    create=extend_schema(responses={201: ExchangeSerializer, **REFUSALS}),
    partial_update=extend_schema(responses={200: ExchangeSerializer, **REFUSALS}),
    update=extend_schema(responses={200: ExchangeSerializer, **REFUSALS}),
)
class ExchangeViewSet(
    GrantChildViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
):
    """A grant's exchanges. Its leader plans them while the proposal is a draft or
    returned; once approved, the leader and fund managers record them."""

    scope = staticmethod(selectors.exchanges_visible_to)
    serializer_class = ExchangeSerializer
    ordering_fields = ["start_date", "id"]
    ordering = ["start_date", "id"]

    def refine(self, exchanges):
        countries = Country.objects.only("code")
        return exchanges.filter(grant=self.grant).prefetch_related(
            Prefetch("provider_countries", queryset=countries),
            Prefetch("recipient_countries", queryset=countries),
        )

    def create(self, request, *args, **kwargs):
        # Role and status first: a 403 or 409 before any 400 about the body.
        services.exchange_check(grant=self.grant, user=request.user)
        return super().create(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        self.get_object()  # 404 for an exchange of another grant, before the rules.
        services.exchange_check(grant=self.grant, user=request.user)
        return super().update(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = services.exchange_create(
            grant=self.grant, user=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.exchange_update(
            exchange=serializer.instance, user=self.request.user, **serializer.validated_data
        )


@extend_schema_view(
    create=extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: DisbursementSerializer, **REFUSALS},
    ),
)
class DisbursementViewSet(
    GrantChildViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
):
    """Money paid out of a grant; fund managers only, on approved or completed grants.
    Beyond what is left of the approved amount: 409 `over_disbursement`."""

    scope = staticmethod(selectors.disbursements_visible_to)
    serializer_class = DisbursementSerializer
    grant_rule = staticmethod(can_disburse)
    ordering_fields = ["disbursed_on", "id"]
    ordering = ["disbursed_on", "id"]

    def refine(self, disbursements):
        return disbursements.filter(grant=self.grant)

    def create(self, request, *args, **kwargs):
        grant = self.grant

        def record():
            services.disbursement_check(grant=grant, user=request.user)
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            disbursement = services.disbursement_record(
                grant=grant, user=request.user, **serializer.validated_data
            )
            return Response(
                DisbursementSerializer(disbursement).data, status=status.HTTP_201_CREATED
            )

        return idempotent(request, record)

    @extend_schema(
        summary="Reverse a disbursement",
        description="Correct a disbursement with a reversing entry: a new disbursement "
        "with its negative amount that references it (`reverses`), dated today, with the "
        "reason. It lowers the grant's `disbursed_usd` and the fund's disbursed money; the "
        "commitment stays. Fund managers only, on approved or completed grants; an entry "
        "is reversed at most once and a reversal is not reversed (409 "
        "`invalid_transition`). Honours `Idempotency-Key`.",
        request=ReversalInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: DisbursementSerializer, **REFUSALS},
    )
    def reverse_entry(self, request, *args, **kwargs):
        disbursement = self.get_object()

        def reverse():
            services.disbursement_check(grant=self.grant, user=request.user)
            serializer = ReversalInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            reversal = services.disbursement_reverse(
                disbursement=disbursement, user=request.user, **serializer.validated_data
            )
            return Response(DisbursementSerializer(reversal).data, status=status.HTTP_201_CREATED)

        return idempotent(request, reverse)
