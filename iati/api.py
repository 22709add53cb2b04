"""The IATI API: the two files (public, streamed) and the checks before publishing."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, renderers, serializers
from rest_framework.response import Response

from seetf.common.api import ErrorSerializer, RulePermission, ScopedAPIView

from .checks import all_problems
from .permissions import can_read_iati_checks
from .publish import file_chunks
from .selectors import published_grants_visible_to, published_to_everyone


class XMLFileRenderer(renderers.BaseRenderer):
    """The IATI files are written by iati/activities.py and iati/organisation.py, not
    rendered from data: this renderer only names their media type for negotiation."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only an error body (e.g. a 406) reaches here: said as a small XML document.
        detail = data.get("detail", "") if isinstance(data, dict) else data
        return f'<?xml version="1.0" encoding="utf-8"?>\n<error>{detail}</error>\n'.encode()


class _IatiFileView(ScopedAPIView, abstract=True):
    permission_classes = [permissions.AllowAny]
    renderer_classes = [XMLFileRenderer]
    scope = staticmethod(published_to_everyone)
    kind = ""
    filename = ""

    def get(self, request):
        # The file is built from the published grants (its scope) while it streams.
        response = StreamingHttpResponse(
            file_chunks(self.kind), content_type="application/xml; charset=utf-8"
        )
        response["Content-Disposition"] = f'inline; filename="{self.filename}"'
        return response


XML_FILE = {(200, "application/xml"): OpenApiResponse(OpenApiTypes.STR)}


class ActivitiesFileView(_IatiFileView):
    """The fund's IATI 2.03 activity file: the fund's own activity and one per grant
    approved or later. Public; streamed; the same bytes until the data changes."""

    kind = "activities"
    filename = "seetf-activities.xml"

    @extend_schema(
        operation_id="iati_activities_xml",
        summary="The IATI 2.03 activity file",
        description=(
            "IATI 2.03 XML, valid against the official schema, codelists and standard "
            "ruleset: one activity for the fund (hierarchy 1: an incoming commitment per "
            "contribution, incoming funds per receipt) and one per grant approved or "
            "later (hierarchy 2, `<reporting-org ref>-<reference>`). Grants that "
            "`/api/v1/iati/checks/` lists are left out. Public, no credentials needed."
        ),
        responses=XML_FILE,
        auth=[],
    )
    def get(self, request):
        return super().get(request)


class OrganisationFileView(_IatiFileView):
    """The fund's IATI 2.03 organisation file: total budget per fiscal year with the
    contributions received from each partner, total expenditure per past year."""

    kind = "organisation"
    filename = "seetf-organisation.xml"

    @extend_schema(
        operation_id="iati_organisation_xml",
        summary="The IATI 2.03 organisation file",
        description=(
            "IATI 2.03 XML: the fund's total budget per fiscal year (no period over a "
            "year), with a budget line per partner for what it paid in that year, and its "
            "total expenditure per past fiscal year. Public, no credentials needed."
        ),
        responses=XML_FILE,
        auth=[],
    )
    def get(self, request):
        return super().get(request)


class IatiCheckSerializer(serializers.Serializer):
    grant = serializers.IntegerField(
        allow_null=True, help_text="The grant's id; null for the fund's own activity."
    )
    reference = serializers.CharField(
        help_text="The grant's reference (a contribution's for the fund's activity)."
    )
    element = serializers.CharField(help_text="The IATI element that would be invalid.")
    message = serializers.CharField()


class IatiChecksView(ScopedAPIView):
    """What would make an activity invalid, grant by grant (fund managers): the files
    leave those activities out until it is fixed."""

    permission_classes = [RulePermission]
    read_rule = staticmethod(can_read_iati_checks)
    scope = staticmethod(published_grants_visible_to)

    @extend_schema(
        operation_id="iati_checks",
        responses={
            200: IatiCheckSerializer(many=True),
            401: OpenApiResponse(ErrorSerializer, description="No credentials."),
            403: OpenApiResponse(ErrorSerializer, description="Not a fund manager."),
        },
    )
    def get(self, request):
        problems = all_problems(grants=self.scoped())
        return Response(IatiCheckSerializer([p.as_dict() for p in problems], many=True).data)
