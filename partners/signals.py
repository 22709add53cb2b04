"""What partners tells the apps built on it, which it may not import: they connect their
receivers in their AppConfig.ready()."""

from django.dispatch import Signal

# Sent by every movement of the fund's ledger (partners.services), inside its transaction
# and under the fund's lock. grants queues the funding-balance check on it
# (grants.tasks.check_fund_balance_after_commit): the check compares the fund's money with
# the grants' pipeline, which partners does not know.
fund_moved = Signal()
