"""Who may do what with IATI publishing. The two files are public (API.md: every role
and anonymous); the checks before publishing are for fund managers."""

from django.utils.translation import gettext as _

from partners.roles import is_fund_manager


def can_read_iati_checks(user) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers see the IATI publishing checks.")
