from django.urls import path

from . import views

app_name = "iati"

urlpatterns = [
    path("publishing/", views.publishing, name="publishing"),
]
