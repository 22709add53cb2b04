"""Web pages of partners (/partners/), money in (/contributions/) and the audit log
(/audit/)."""

from django.urls import path

from . import views

app_name = "partners"

urlpatterns = [
    path("audit/", views.audit_log, name="audit"),
    path("partners/", views.partner_list, name="list"),
    path("partners/new/", views.partner_form, name="create"),
    path("partners/<int:pk>/", views.partner_detail, name="detail"),
    path("partners/<int:pk>/edit/", views.partner_form, name="edit"),
    path("contributions/", views.contribution_list, name="contribution-list"),
    path("contributions/new/", views.contribution_form, name="contribution-create"),
    path("contributions/<int:pk>/", views.contribution_detail, name="contribution-detail"),
    path("contributions/<int:pk>/edit/", views.contribution_form, name="contribution-edit"),
    path("contributions/<int:pk>/receipts/", views.receipt_create, name="receipt-create"),
    path(
        "contributions/<int:pk>/receipts/<int:receipt_pk>/reverse/",
        views.receipt_reverse,
        name="receipt-reverse",
    ),
]
