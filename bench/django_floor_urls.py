"""The Django floor's URLs: /bench/floor/<the API's path> (mounted by bench/urls.py only
when SEETF_BENCH is on)."""

from django.urls import path

from . import django_floor as views

urlpatterns = [
    path("api/v1/fund/", views.fund),
    path("api/v1/grants/", views.grant_list),
    path("api/v1/grants/<int:pk>/", views.grant_detail),
    path("api/v1/dashboards/donor/", views.donor_dashboard),
    path("api/v1/reports/capacity-outcomes/", views.capacity_outcomes),
    path("api/v1/results-stories/", views.stories),
    path("api/v1/reports/cycle-times/", views.cycle_times),
    path("api/v1/reports/portfolio-indicators/", views.portfolio_indicators),
    path("api/v1/reports/exchange-flows/", views.exchange_flows),
    path("api/v1/offers/", views.offers),
    path("api/v1/requests/<int:pk>/suggestions/", views.suggestions),
    path("api/v1/windows/", views.windows),
    path("api/v1/notifications/", views.notifications),
]
