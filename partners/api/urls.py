from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views
from .alerts import FundAlertViewSet
from .audit import AuditEntryViewSet
from .windows import WindowViewSet

router = SimpleRouter()
router.register("countries", views.CountryViewSet, basename="country")
router.register("sectors", views.SectorViewSet, basename="sector")
router.register("partners", views.PartnerViewSet, basename="partner")
router.register("contributions", views.ContributionViewSet, basename="contribution")
router.register("alerts", FundAlertViewSet, basename="alert")
router.register("windows", WindowViewSet, basename="window")
router.register("audit", AuditEntryViewSet, basename="audit-entry")

receipts = views.ReceiptViewSet.as_view({"get": "list", "post": "create"})
receipt = views.ReceiptViewSet.as_view({"get": "retrieve"})
receipt_reverse = views.ReceiptViewSet.as_view({"post": "reverse_entry"})

urlpatterns = [
    *router.urls,
    path("contributions/<int:contribution_pk>/receipts/", receipts, name="receipt-list"),
    path("contributions/<int:contribution_pk>/receipts/<int:pk>/", receipt, name="receipt-detail"),
    path(
        "contributions/<int:contribution_pk>/receipts/<int:pk>/reverse/",
        receipt_reverse,
        name="receipt-reverse",
    ),
    path(
        "reports/contributions/",
        views.ContributionReportView.as_view(),
        name="report-contributions",
    ),
]
