"""What the cycle-times report measures: its steps, the statuses that mean waiting on the
leader or on the fund, the service standards and the size bands. Shared by the two ways
of computing the report (``cycletimes`` in Python, ``cycletimes_sql`` in PostgreSQL)."""

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from grants.models import GrantStatus

STEPS = (
    "submit_to_decision",
    "decision_to_first_disbursement",
    "decision_to_first_exchange",
    "end_to_report",
    "report_to_acceptance",
    "submit_to_close",
)
STEP_LABELS = {
    "submit_to_decision": _("Submission to decision"),
    "decision_to_first_disbursement": _("Approval to first disbursement"),
    "decision_to_first_exchange": _("Approval to first exchange held"),
    "end_to_report": _("Planned end to report submitted"),
    "report_to_acceptance": _("Report submitted to accepted"),
    "submit_to_close": _("Submission to closing"),
}
WAITS = ("waiting_on_leader", "waiting_on_fund")
LEADER_STATUSES = frozenset({GrantStatus.RETURNED})
FUND_STATUSES = frozenset({GrantStatus.SUBMITTED, GrantStatus.UNDER_REVIEW})
DECISIONS = frozenset({GrantStatus.APPROVED, GrantStatus.REJECTED})

ONE_PLACE = Decimal("0.1")
TWO_PLACES = Decimal("0.01")


def service_standards() -> dict[str, int]:
    """The days each step should take at most (``SEETF_SERVICE_STANDARDS``); a step
    without one has no standard."""
    standards = getattr(settings, "SEETF_SERVICE_STANDARDS", {}) or {}
    return {
        step: int(days) for step, days in standards.items() if step in STEPS and days is not None
    }


def _size_bands() -> tuple[int, ...]:
    return tuple(getattr(settings, "SEETF_SIZE_BANDS_USD", (50000, 100000, 250000)))


def _band(low: int) -> tuple[str, str]:
    """The ``(key, label)`` of the size band starting at ``low`` USD."""
    bands = _size_bands()
    higher = [high for high in bands if high > low]
    if higher:
        high = higher[0]
        return f"{low:012d}:{low}-{high}", f"{low:,} to {high:,} USD"
    return f"{low:012d}:{low}+", f"{low:,} USD and more"
