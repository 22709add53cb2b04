"""Web pages of partners (/partners/), money in (/contributions/), the funding
windows (/windows/) and the audit log (/audit/)."""

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
    path("windows/", views.window_list, name="window-list"),
    path("windows/new/", views.window_form, name="window-create"),
    path("windows/<int:pk>/", views.window_detail, name="window-detail"),
    path("windows/<int:pk>/edit/", views.window_form, name="window-edit"),
    path("windows/<int:pk>/approvers/", views.window_approver_set, name="window-approver"),
    path(
        "windows/<int:pk>/approvers/<int:user_pk>/remove/",
        views.window_approver_remove,
        name="window-approver-remove",
    ),
    path(
        "windows/<int:pk>/<str:move>/",
        views.window_money,
        name="window-money",
    ),
    path(
        "contributions/<int:pk>/receipts/<int:receipt_pk>/reverse/",
        views.receipt_reverse,
        name="receipt-reverse",
    ),
]
