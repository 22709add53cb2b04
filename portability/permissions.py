"""Who may bring a portfolio in or take it out: fund managers."""

from django.utils.translation import gettext as _

from partners.roles import is_fund_manager


def can_import_portfolio(user) -> tuple[bool, str]:
    if is_fund_manager(user):
        return True, ""
    return False, _("Only fund managers import and export the portfolio.")
