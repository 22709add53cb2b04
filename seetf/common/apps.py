from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "seetf.common"
    label = "common"
    verbose_name = "Common"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import datacache

        # The data version's triggers, on every table of the tracked apps (datacache).
        post_migrate.connect(datacache.on_post_migrate, sender=self)
