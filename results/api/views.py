from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.response import Response

from grants.api.views import REFUSALS, VisibleGrantsMixin
from grants.permissions import can_see_report
from seetf.common.api import RulePermission, ScopedAPIView

from .. import selectors, services
from ..models import CompletionReport
from .serializers import CommentSerializer, CompletionReportSerializer


class CompletionReportMixin(VisibleGrantsMixin, ScopedAPIView):
    """A grant's completion report: the grant must be visible (404) before the report's
    own rules apply."""

    scope = staticmethod(selectors.completion_reports_visible_to)
    permission_classes = [RulePermission]
    write_rule = staticmethod(lambda user: (True, ""))

    def refine(self, reports):
        return reports.prefetch_related("concrete_results", "follow_up_needs")

    def visible_report(self, grant_pk, *, must_exist=True):
        grant = self.get_grant(grant_pk)
        report = self.get_queryset().filter(grant=grant).first()
        if not can_see_report(self.request.user, report, grant):
            raise Http404
        if report is None and must_exist:
            raise Http404
        return grant, report


class CompletionReportView(CompletionReportMixin):
    """A grant's completion report. Fund managers read all, the leader reads and writes
    their own (PUT, while the grant is approved), donors read accepted reports."""

    @extend_schema(responses={200: CompletionReportSerializer, 404: REFUSALS[404]})
    def get(self, request, grant_pk):
        _, report = self.visible_report(grant_pk)
        return Response(CompletionReportSerializer(report).data)

    @extend_schema(
        request=CompletionReportSerializer,
        responses={200: CompletionReportSerializer, **REFUSALS},
    )
    def put(self, request, grant_pk):
        grant, _ = self.visible_report(grant_pk, must_exist=False)
        services.completion_report_save_check(grant=grant, user=request.user)
        serializer = CompletionReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = services.completion_report_save(
            grant=grant, user=request.user, **serializer.validated_data
        )
        report = CompletionReport.objects.prefetch_related(
            "concrete_results", "follow_up_needs"
        ).get(pk=report.pk)
        return Response(CompletionReportSerializer(report).data)


class CompletionReportStepMixin(CompletionReportMixin):
    """A step of the report's workflow (submit, accept, return), one POST with a
    ``comment``: the grant must be visible (404), then the step's own check runs before
    the body is read (403, 409), then the comment is validated (400) and the service
    acts; the answer is the report as it now stands."""

    step_check = None  # the service's ``..._check(grant=, user=)``
    step = None  # the service itself (``grant=``, ``user=``, ``comment=``)

    def post(self, request, grant_pk):
        grant, _ = self.visible_report(grant_pk, must_exist=False)
        self.step_check(grant=grant, user=request.user)
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = self.step(grant=grant, user=request.user, **serializer.validated_data)
        return Response(CompletionReportSerializer(report).data)


# What a fund manager's decision on a submitted report answers.
DECISION_RESPONSES = {
    200: CompletionReportSerializer,
    **REFUSALS,
    404: OpenApiResponse(description="No such grant or report."),
}


@extend_schema_view(
    post=extend_schema(
        request=CommentSerializer, responses={200: CompletionReportSerializer, **REFUSALS}
    )
)
class CompletionReportSubmitView(CompletionReportStepMixin):
    """The leader submits the report: the grant moves from approved to completed."""

    step_check = staticmethod(services.completion_report_submit_check)
    step = staticmethod(services.completion_report_submit)


@extend_schema_view(post=extend_schema(request=CommentSerializer, responses=DECISION_RESPONSES))
class CompletionReportAcceptView(CompletionReportStepMixin):
    """A fund manager accepts a submitted report; the grant can then be closed."""

    step_check = staticmethod(services.completion_report_accept_check)
    step = staticmethod(services.completion_report_accept)


@extend_schema_view(post=extend_schema(request=CommentSerializer, responses=DECISION_RESPONSES))
class CompletionReportReturnView(CompletionReportStepMixin):
    """A fund manager returns a submitted report to its leader for revision, saying what
    to revise (``comment``, required): the grant is approved again."""

    step_check = staticmethod(services.completion_report_return_check)
    step = staticmethod(services.completion_report_return)
