from django.urls import path
from rest_framework.routers import SimpleRouter

from . import feedback, follow_up, lessons, reports, stories, views

router = SimpleRouter()
router.register("results-stories", stories.ResultsStoryViewSet, basename="results-story")
router.register("lessons", lessons.LessonViewSet, basename="lesson")
router.register("follow-up-needs", follow_up.FollowUpNeedViewSet, basename="follow-up-need")
router.register(
    r"grants/(?P<grant_pk>\d+)/ex-post-checks",
    follow_up.ExPostCheckViewSet,
    basename="ex-post-check",
)

urlpatterns = [
    path(
        "grants/<int:grant_pk>/completion-report/",
        views.CompletionReportView.as_view(),
        name="completion-report",
    ),
    path(
        "grants/<int:grant_pk>/completion-report/submit/",
        views.CompletionReportSubmitView.as_view(),
        name="completion-report-submit",
    ),
    path(
        "grants/<int:grant_pk>/completion-report/accept/",
        views.CompletionReportAcceptView.as_view(),
        name="completion-report-accept",
    ),
    path(
        "grants/<int:grant_pk>/completion-report/return/",
        views.CompletionReportReturnView.as_view(),
        name="completion-report-return",
    ),
    path(
        "reports/capacity-outcomes/",
        reports.CapacityOutcomesReportView.as_view(),
        name="report-capacity-outcomes",
    ),
    path("reports/follow-up/", reports.FollowUpReportView.as_view(), name="report-follow-up"),
    path(
        "reports/sustained-results/",
        follow_up.SustainedResultsReportView.as_view(),
        name="report-sustained-results",
    ),
    path("dashboards/donor/", reports.DonorDashboardView.as_view(), name="dashboard-donor"),
    *router.urls,
    path(
        "grants/<int:grant_pk>/exchanges/<int:exchange_pk>/feedback-links/",
        feedback.FeedbackLinkViewSet.as_view({"get": "list", "post": "create"}),
        name="feedback-link-list",
    ),
    path(
        "grants/<int:grant_pk>/exchanges/<int:exchange_pk>/feedback-links/<int:pk>/close/",
        feedback.FeedbackLinkViewSet.as_view({"post": "close"}),
        name="feedback-link-close",
    ),
    path(
        "grants/<int:grant_pk>/exchanges/<int:exchange_pk>/feedback/",
        feedback.ExchangeFeedbackView.as_view(),
        name="exchange-feedback",
    ),
]
