from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views
from .reminders import ReminderViewSet

router = SimpleRouter()
router.register("grants", views.GrantViewSet, basename="grant")
router.register("reminders", ReminderViewSet, basename="reminder")

exchanges = views.ExchangeViewSet.as_view({"get": "list", "post": "create"})
exchange = views.ExchangeViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update"}
)
disbursements = views.DisbursementViewSet.as_view({"get": "list", "post": "create"})
disbursement = views.DisbursementViewSet.as_view({"get": "retrieve"})
disbursement_reverse = views.DisbursementViewSet.as_view({"post": "reverse_entry"})

urlpatterns = [
    path("fund/", views.FundSummaryView.as_view(), name="fund-summary"),
    *router.urls,
    path("grants/<int:grant_pk>/exchanges/", exchanges, name="exchange-list"),
    path("grants/<int:grant_pk>/exchanges/<int:pk>/", exchange, name="exchange-detail"),
    path("grants/<int:grant_pk>/disbursements/", disbursements, name="disbursement-list"),
    path("grants/<int:grant_pk>/disbursements/<int:pk>/", disbursement, name="disbursement-detail"),
    path(
        "grants/<int:grant_pk>/disbursements/<int:pk>/reverse/",
        disbursement_reverse,
        name="disbursement-reverse",
    ),
]
