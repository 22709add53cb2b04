from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Signing in"

    def ready(self):
        from . import signals  # noqa: F401 - the login log's receivers
