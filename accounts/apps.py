from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Signing in")

    def ready(self):
        from . import schema, signals  # noqa: F401 - the schema's scheme, the log's receivers
