"""The project's URLs, plus the Django floor views under /bench/floor/ (bench only)."""

from django.conf import settings
from django.urls import include, path

from seetf.urls import *  # noqa: F403 - the error handlers too
from seetf.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if getattr(settings, "SEETF_BENCH", False):
    urlpatterns.insert(0, path("bench/floor/", include("bench.django_floor_urls")))
