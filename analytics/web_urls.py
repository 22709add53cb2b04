"""Web pages of analytics: the Process page and the exchanges' map with its downloads."""

from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("process/", views.process, name="process"),
    path("flows/", views.flows, name="flows"),
    path("flows/<slug:table>.csv", views.flows_csv, name="flows-csv"),
    path("flows/<slug:table>.xlsx", views.flows_xlsx, name="flows-xlsx"),
]
