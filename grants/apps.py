from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = _("Grants")

    def ready(self):
        # Every movement of the fund's ledger (partners, which may not import grants)
        # queues the funding-balance check, which needs the grants' pipeline.
        from partners.signals import fund_moved

        from .signals import grant_transitioned
        from .tasks import check_fund_balance_after_commit, check_fund_balance_after_pipeline_move

        fund_moved.connect(check_fund_balance_after_commit, dispatch_uid="grants.fund_check")
        # A proposal submitted or taken out of the pipeline moves the pipeline the check
        # compares with the available money.
        grant_transitioned.connect(
            check_fund_balance_after_pipeline_move, dispatch_uid="grants.pipeline_check"
        )
