from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Signing in"

    def ready(self):
        from . import schema, signals  # noqa: F401 - the schema's scheme, the log's receivers
