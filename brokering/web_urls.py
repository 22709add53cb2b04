"""Web pages of brokering: the public offers catalogue, a leader's exchange request and
its suggestions, the fund managers' queue of open requests."""

from django.urls import path

from . import views

app_name = "brokering"

urlpatterns = [
    path("offers/", views.offer_catalogue, name="offers"),
    path("offers/new/", views.offer_create, name="offer-create"),
    path("offers/<int:pk>/<str:action>/", views.offer_action, name="offer-action"),
    path("requests/", views.request_queue, name="requests"),
    path("requests/new/", views.request_create, name="request-create"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("requests/<int:pk>/match/", views.request_match, name="request-match"),
]
