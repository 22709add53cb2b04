from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from partners.permissions import can_read_reference_data
from seetf.common.api import RulePermission

from .. import selectors
from .serializers import FundSummarySerializer


class FundSummaryView(APIView):
    """The fund's money: pledged, received, committed, disbursed, available, pipeline."""

    permission_classes = [RulePermission]
    read_rule = staticmethod(can_read_reference_data)

    @extend_schema(responses={200: FundSummarySerializer})
    def get(self, request):
        return Response(FundSummarySerializer(selectors.fund_summary()).data)
