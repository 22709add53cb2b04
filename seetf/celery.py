"""The Celery application. Its configuration comes from Django's settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seetf.settings.local")

app = Celery("seetf")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
