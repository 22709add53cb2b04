from django.core.management.base import BaseCommand

from grants.alerts import AlertDeliveryError
from grants.ledger import run_ledger_check


class Command(BaseCommand):
    help = (
        "Reconcile the fund's ledger with the records (grants.ledger): the fund's and each "
        "contribution's and grant's totals against the receipts, commitments and "
        "disbursements. Exit 0 when they agree; else name each drift (the figure, what the "
        "records give, what was found), raise a ledger_drift alert and exit 1."
    )

    def handle(self, *args, **options):
        try:
            run = run_ledger_check()
        except AlertDeliveryError as exc:
            self.stderr.write(f"The alert could not be e-mailed (it stays pending): {exc}")
            run = run_ledger_check(notify=False)
        if run.ok:
            resolved = " (the ledger_drift alert is resolved)" if run.resolved else ""
            self.stdout.write(f"The ledger equals the records{resolved}.")
            return
        for drift in run.drifts:
            self.stderr.write(f"DRIFT {drift}")
        raised = "raised" if run.raised else "still open"
        self.stderr.write(
            f"{len(run.drifts)} figure(s) drifted; the ledger_drift alert is {raised}."
        )
        raise SystemExit(1)
