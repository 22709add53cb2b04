from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """Process and portfolio analytics: cycle times, service standards, the review's
    indicators, exchange flows and their pictures. No tables of its own: it reads
    grants, results and partners (above results in the layers)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "analytics"
    verbose_name = _("Process and portfolio analytics")
