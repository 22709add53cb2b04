"""The Django admin lists every model of the project (read-only where services own the
writes) and its pages render for a superuser."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db

PROJECT_APPS = ["partners", "grants", "results", "brokering", "documents", "common", "accounts"]


def test_every_model_of_the_project_is_in_the_admin():
    missing = [
        f"{model._meta.app_label}.{model.__name__}"
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.auto_created and model not in admin.site._registry
    ]
    assert missing == []


def test_admin_changelists_render(admin_client):
    from django.core.management import call_command

    call_command("load_review_2011", stdout=open("/dev/null", "w"))
    for model in admin.site._registry:
        if model._meta.app_label not in PROJECT_APPS:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = admin_client.get(url)
        assert response.status_code == 200, url
