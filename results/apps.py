from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResultsConfig(AppConfig):
    name = "results"
    verbose_name = _("Results")

    def ready(self):
        # grants may not import results: results listens to its transitions and adds
        # its reminders to grants' engine.
        from grants.reminders import register_reminder_source
        from grants.signals import grant_transitioned

        from .receivers import on_grant_transitioned
        from .reminders import EX_POST_REMINDERS

        grant_transitioned.connect(on_grant_transitioned, dispatch_uid="results.follow_up")
        register_reminder_source(EX_POST_REMINDERS)
