from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """Process and portfolio analytics: cycle times, service standards, the review's
    indicators, exchange flows and their pictures. It reads grants, results and partners
    (above results in the layers); its only tables keep each grant's cycle facts for the
    cycle-times report (``models``), which is no data of the fund's."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "analytics"
    verbose_name = _("Process and portfolio analytics")
