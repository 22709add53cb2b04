from django.urls import path

from . import views

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
]

from . import reports  # noqa: E402

urlpatterns += [
    path(
        "reports/capacity-outcomes/",
        reports.CapacityOutcomesReportView.as_view(),
        name="report-capacity-outcomes",
    ),
    path("reports/follow-up/", reports.FollowUpReportView.as_view(), name="report-follow-up"),
    path("dashboards/donor/", reports.DonorDashboardView.as_view(), name="dashboard-donor"),
]

from rest_framework.routers import SimpleRouter  # noqa: E402

from . import stories  # noqa: E402

stories_router = SimpleRouter()
stories_router.register("results-stories", stories.ResultsStoryViewSet, basename="results-story")
urlpatterns += [
    *stories_router.urls,
    path("lessons/", stories.LessonListView.as_view(), name="lesson-list"),
]
