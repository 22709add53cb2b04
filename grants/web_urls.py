"""Web pages of grants, under /grants/ (the completion report's page is in results)."""

from django.urls import path

from . import views

app_name = "grants"

urlpatterns = [
    path("", views.grant_list, name="list"),
    path("new/", views.proposal_create, name="create"),
    path("<int:pk>/", views.grant_detail, name="detail"),
    path("<int:pk>/edit/", views.proposal_edit, name="edit"),
    path(
        "<int:pk>/actions/<slug:action>/",
        views.grant_action,
        name="action",
    ),
    path("<int:pk>/disbursements/", views.disbursement_create, name="disburse"),
    path(
        "<int:pk>/disbursements/<int:disbursement_pk>/reverse/",
        views.disbursement_reverse,
        name="disbursement-reverse",
    ),
    path("<int:pk>/exchanges/new/", views.exchange_form, name="exchange-create"),
    path("<int:pk>/exchanges/<int:exchange_pk>/", views.exchange_form, name="exchange-edit"),
]
