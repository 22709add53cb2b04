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
