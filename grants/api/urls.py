from django.urls import path

from . import views

urlpatterns = [
    path("fund/", views.FundSummaryView.as_view(), name="fund-summary"),
]
