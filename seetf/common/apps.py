from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "seetf.common"
    label = "common"
    verbose_name = _("Common")

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import datacache, dbrole

        # The data version's triggers, on every table of the tracked apps (datacache).
        post_migrate.connect(datacache.on_post_migrate, sender=self)
        # The application's database role, granted again on every table (dbrole).
        post_migrate.connect(dbrole.on_post_migrate, sender=self, dispatch_uid="common.dbrole")
