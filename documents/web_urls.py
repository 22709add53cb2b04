from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("grants/<int:pk>/documents/", views.document_upload, name="upload"),
]
