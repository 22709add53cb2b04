from django.urls import path

from . import views

app_name = "portability"

urlpatterns = [
    path("import/", views.import_page, name="import"),
    path("import/template.xlsx", views.template_download, name="template"),
    path("import/portfolio.xlsx", views.export_download, name="export"),
]
