"""The Celery application. Its configuration comes from Django's settings (CELERY_*)."""

import os

from celery import Celery

# Production unless told otherwise, as seetf.wsgi: a worker started without
# DJANGO_SETTINGS_MODULE must not get the local settings' DEBUG and local-only key
# (`make worker` and `make beat` pass seetf.settings.local).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seetf.settings.production")

app = Celery("seetf")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
