from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = "Grants"

    def ready(self):
        # Every movement of the fund's ledger (partners, which may not import grants)
        # queues the funding-balance check, which needs the grants' pipeline.
        from partners.signals import fund_moved

        from .tasks import check_fund_balance_after_commit

        fund_moved.connect(check_fund_balance_after_commit, dispatch_uid="grants.fund_check")
