from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollaborationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "collaboration"
    verbose_name = _("Working on a grant together")

    def ready(self):
        # grants may not import this app: it tells it of its workflow through signals.
        from grants.signals import disbursement_recorded, grant_transitioned

        from . import receivers

        grant_transitioned.connect(
            receivers.on_grant_transitioned, dispatch_uid="collab-transition"
        )
        disbursement_recorded.connect(
            receivers.on_disbursement_recorded, dispatch_uid="collab-disbursement"
        )
