from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollaborationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "collaboration"
    verbose_name = _("Working on a grant together")

    def ready(self):
        # grants may not import this app: it tells it of its workflow through signals.
        from grants.signals import disbursement_recorded, grant_transitioned
        from seetf.common.jobs import register_daily_job

        from . import receivers
        from .delivery import daily_digests_job, pending_emails_job

        grant_transitioned.connect(
            receivers.on_grant_transitioned, dispatch_uid="collab-transition"
        )
        disbursement_recorded.connect(
            receivers.on_disbursement_recorded, dispatch_uid="collab-disbursement"
        )
        # manage.py run_jobs does what beat does daily: the catch-up of the e-mails to
        # send at once, then the digests.
        register_daily_job("Notification e-mails", pending_emails_job)
        register_daily_job("Daily digests", daily_digests_job)
