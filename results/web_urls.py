"""Web pages of results: the completion report (linked from the reminder e-mails as
/grants/<id>/report/), the donor dashboard, the knowledge hub and the stories."""

from django.urls import path

from . import views

app_name = "results"

urlpatterns = [
    path("grants/<int:pk>/report/", views.completion_report, name="report"),
    path("grants/<int:pk>/report/accept/", views.report_accept, name="report-accept"),
    path("grants/<int:pk>/report/return/", views.report_return, name="report-return"),
    path("dashboard/", views.donor_dashboard, name="dashboard"),
    path("dashboard/<slug:table>.csv", views.dashboard_csv, name="dashboard-csv"),
    path("dashboard/<slug:table>.xlsx", views.dashboard_xlsx, name="dashboard-xlsx"),
    path("hub/", views.hub, name="hub"),
    path("stories/<slug:slug>/", views.story_detail, name="story"),
]
