"""Web pages of results: the completion report (linked from the reminder e-mails as
/grants/<id>/report/), the donor dashboard, the knowledge hub and the stories."""

from django.urls import path

from . import feedback_web, views, views_follow_up

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
    # After the exchange (results.views_follow_up).
    path(
        "grants/<int:pk>/needs/<int:need_pk>/finance-elsewhere/",
        views_follow_up.need_finance_elsewhere,
        name="need-finance-elsewhere",
    ),
    path("grants/<int:pk>/needs/<int:need_pk>/drop/", views_follow_up.need_drop, name="need-drop"),
    path(
        "grants/<int:pk>/needs/<int:need_pk>/follow-on/",
        views_follow_up.need_propose_follow_on,
        name="need-follow-on",
    ),
    path("grants/<int:pk>/follow-on/", views_follow_up.grant_follow_on, name="grant-follow-on"),
    path("grants/<int:pk>/ex-post/<int:months>/", views_follow_up.ex_post_check, name="ex-post"),
    path(
        "reports/sustained-results/",
        views_follow_up.sustained_results,
        name="sustained-results",
    ),
    # Participant feedback: the participants' page (no login) and the staff's form.
    path("feedback/<str:token>/", feedback_web.feedback_form, name="feedback"),
    path(
        "grants/<int:pk>/exchanges/<int:exchange_pk>/feedback-link/",
        feedback_web.feedback_link_open,
        name="feedback-link-open",
    ),
]
