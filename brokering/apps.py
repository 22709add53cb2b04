from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BrokeringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "brokering"
    verbose_name = _("Brokering knowledge")
