from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from seetf.common.api import (
    REPORT_FORMAT_PARAMETER,
    REPORT_RENDERERS,
    ErrorSerializer,
    RulePermission,
    ScopedAPIView,
    ScopedReadOnlyViewSet,
    ScopedViewSet,
)
from seetf.common.idempotency import IDEMPOTENCY_PARAMETER, idempotent

from .. import permissions as rules
from .. import selectors, services
from ..filters import (
    ContributionFilter,
    ContributionReportFilter,
    CountryFilter,
    PartnerFilter,
    SectorFilter,
)
from ..models import Contribution, Country, PartnerKind, Sector
from .serializers import (
    ContributionInputSerializer,
    ContributionOutputSerializer,
    ContributionReportSerializer,
    CountrySerializer,
    PartnerSerializer,
    ReceiptSerializer,
    ReversalInputSerializer,
    SectorSerializer,
)


class CountryViewSet(ScopedReadOnlyViewSet):
    """Every country of ISO 3166-1 with its World Bank region and income group."""

    scope = staticmethod(selectors.countries_visible_to)
    queryset = Country.objects.none()  # For the schema: the path names the country's code.
    serializer_class = CountrySerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(rules.can_read_reference_data)
    filterset_class = CountryFilter
    ordering_fields = ["code", "name", "region"]
    ordering = ["name"]
    lookup_value_regex = "[A-Za-z]{3}"


class SectorViewSet(ScopedReadOnlyViewSet):
    """OECD DAC 5-digit purpose codes, as used by IATI."""

    scope = staticmethod(selectors.sectors_visible_to)
    queryset = Sector.objects.none()  # For the schema: the path names the sector's code.
    serializer_class = SectorSerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(rules.can_read_reference_data)
    filterset_class = SectorFilter
    ordering_fields = ["code", "name", "category"]
    ordering = ["code"]
    lookup_value_regex = "[0-9]{5}"


class PartnerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """The fund's partners. Fund managers create and edit them; partners are not deleted
    (their contributions stay on record)."""

    scope = staticmethod(selectors.partners_visible_to)
    serializer_class = PartnerSerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(rules.can_read_reference_data)
    write_rule = staticmethod(rules.can_write_partners)
    filterset_class = PartnerFilter
    ordering_fields = ["name", "code", "kind", "joined_on"]
    ordering = ["name"]

    def perform_create(self, serializer):
        serializer.instance = services.partner_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.partner_update(
            partner=serializer.instance, **serializer.validated_data
        )


class ContributionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """Pledges. `received_usd`, `outstanding_usd` and `status` follow from the receipts.
    Fund managers record and amend pledges; a pledge cannot go below what was received.
    Contributions are not deleted."""

    scope = staticmethod(selectors.contributions_visible_to)
    permission_classes = [RulePermission]
    read_rule = staticmethod(rules.can_read_reference_data)
    write_rule = staticmethod(rules.can_record_money_in)
    filterset_class = ContributionFilter
    ordering_fields = ["signed_on", "pledged_usd", "reference", "id"]
    ordering = ["partner__name", "signed_on", "id"]

    def get_serializer_class(self):
        if self.request.method in ("POST", "PUT", "PATCH"):
            return ContributionInputSerializer
        return ContributionOutputSerializer

    @extend_schema(
        request=ContributionInputSerializer, responses={201: ContributionOutputSerializer}
    )
    def create(self, request, *args, **kwargs):
        data = self._validated(request)
        contribution = services.contribution_create(**data)
        return Response(
            ContributionOutputSerializer(contribution).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=ContributionInputSerializer, responses={200: ContributionOutputSerializer}
    )
    def update(self, request, *args, **kwargs):
        contribution = self.get_object()
        data = self._validated(request, partial=kwargs.get("partial", False))
        contribution = services.contribution_update(contribution=contribution, **data)
        return Response(ContributionOutputSerializer(contribution).data)

    @extend_schema(
        request=ContributionInputSerializer, responses={200: ContributionOutputSerializer}
    )
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def _validated(self, request, partial=False):
        serializer = ContributionInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


REVERSAL_REFUSALS = {
    403: OpenApiResponse(ErrorSerializer, description="Only fund managers reverse entries."),
    404: OpenApiResponse(description="No such entry here, or not visible to this user."),
    409: OpenApiResponse(
        ErrorSerializer,
        description="`invalid_transition`: reversed already, or a reversal itself; "
        "`insufficient_funds`: the fund's available money would go below zero.",
    ),
}


@extend_schema_view(create=extend_schema(parameters=[IDEMPOTENCY_PARAMETER]))
class ReceiptViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ScopedViewSet,
):
    """Money actually paid in against a contribution. Receipts are immutable: a mistake
    is corrected by amending the pledge and recording what was really received.
    A receipt beyond what is outstanding on the pledge: 400 on `amount`."""

    scope = staticmethod(selectors.receipts_visible_to)
    serializer_class = ReceiptSerializer
    permission_classes = [RulePermission]
    read_rule = staticmethod(rules.can_read_reference_data)
    write_rule = staticmethod(rules.can_record_money_in)
    ordering_fields = ["received_on", "id"]
    ordering = ["received_on", "id"]

    def get_contribution(self) -> Contribution:
        contributions = selectors.contributions_visible_to(self.request.user)
        return get_object_or_404(contributions, pk=self.kwargs["contribution_pk"])

    def refine(self, receipts):
        return receipts.filter(contribution=self.get_contribution())

    def create(self, request, *args, **kwargs):
        contribution = self.get_contribution()

        def record():
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            receipt = services.receipt_record(
                contribution=contribution, recorded_by=request.user, **serializer.validated_data
            )
            return Response(ReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)

        return idempotent(request, record)

    @extend_schema(
        summary="Reverse a receipt",
        description="Correct a receipt with a reversing entry: a new receipt with its "
        "negative amounts that references it (`reverses`), dated today, with the reason. "
        "It lowers the contribution's received money and the fund's. Fund managers only; "
        "an entry is reversed at most once and a reversal is not reversed (409 "
        "`invalid_transition`); 409 `insufficient_funds` if the fund's available money "
        "would go below zero. Honours `Idempotency-Key`.",
        request=ReversalInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ReceiptSerializer, **REVERSAL_REFUSALS},
    )
    def reverse_entry(self, request, *args, **kwargs):
        receipt = self.get_object()

        def reverse():
            serializer = ReversalInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            reversal = services.receipt_reverse(
                receipt=receipt, user=request.user, **serializer.validated_data
            )
            return Response(ReceiptSerializer(reversal).data, status=status.HTTP_201_CREATED)

        return idempotent(request, reverse)


class ContributionReportView(ScopedAPIView):
    """Annex C: a row per partner with pledged, received and outstanding USD, and totals.
    Filter by `kind` or `partner` (ids, repeatable); `?format=csv` or `?format=xlsx` for a
    spreadsheet."""

    scope = staticmethod(selectors.partners_visible_to)
    permission_classes = [RulePermission]
    read_rule = staticmethod(rules.can_read_reference_data)
    renderer_classes = REPORT_RENDERERS
    report_name = "contributions"
    report_serializer = ContributionReportSerializer
    filterset_class = ContributionReportFilter

    @extend_schema(
        responses={200: ContributionReportSerializer},
        parameters=[
            OpenApiParameter("kind", str, enum=PartnerKind.values),
            OpenApiParameter("partner", int, many=True, description="Partner ids."),
            REPORT_FORMAT_PARAMETER,
        ],
    )
    def get(self, request):
        filterset = ContributionReportFilter(request.query_params, queryset=self.get_queryset())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        report = selectors.contributions_report(partners=filterset.qs)
        return Response(ContributionReportSerializer(report).data)
