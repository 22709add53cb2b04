"""Web pages of results: the completion report (linked from the reminder e-mails as
/grants/<id>/report/), the donor dashboard, the knowledge hub and the stories."""

from django.urls import path

from . import feedback_web, views

app_name = "results"

urlpatterns = [
    path("grants/<int:pk>/report/", views.completion_report, name="report"),
    path("grants/<int:pk>/report/accept/", views.report_accept, name="report-accept"),
    path("dashboard/", views.donor_dashboard, name="dashboard"),
    path("dashboard/<slug:table>.csv", views.dashboard_csv, name="dashboard-csv"),
    path("dashboard/<slug:table>.xlsx", views.dashboard_xlsx, name="dashboard-xlsx"),
    path("hub/", views.hub, name="hub"),
    path("stories/<slug:slug>/", views.story_detail, name="story"),
    # Participant feedback: the participants' page (no login) and the staff's form.
    path("feedback/<str:token>/", feedback_web.feedback_form, name="feedback"),
    path(
        "grants/<int:pk>/exchanges/<int:exchange_pk>/feedback-link/",
        feedback_web.feedback_link_open,
        name="feedback-link-open",
    ),
]
