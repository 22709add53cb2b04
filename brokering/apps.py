from django.apps import AppConfig


class BrokeringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "brokering"
    verbose_name = "Brokering knowledge"
