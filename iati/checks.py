"""Before publishing: what would make an activity invalid, grant by grant.

The same checks decide what the files leave out: a grant with a problem here is not
published (and the checks say why), so that a file never fails the validator because of
one grant. They are cheap (no XML), so the export runs them for every grant; the codes
are checked against IATI's own Sector and Country codelists when ``IATI_SCHEMA_DIR`` is
set (without it, against the project's reference data only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from .conf import SchemaDirMissing
from .data import FundFacts, GrantFacts, contribution_date, grant_batches


@dataclass(frozen=True)
class Problem:
    grant: int | None  # None: the fund's own activity
    reference: str
    element: str
    message: str

    def as_dict(self) -> dict:
        return {
            "grant": self.grant,
            "reference": self.reference,
            "element": self.element,
            "message": self.message,
        }


@dataclass
class Codes:
    """The IATI codes a grant's activity uses, from the official codelists (or None:
    not checked)."""

    sectors: frozenset | None = None
    countries: frozenset | None = None

    @classmethod
    def load(cls) -> Codes:
        from .validation import Codelists

        try:
            lists = Codelists.load()
        except SchemaDirMissing:
            return cls()
        return cls(sectors=lists.active("Sector"), countries=lists.active("Country"))


def today() -> date:
    return timezone.localdate()


def grant_problems(grant: GrantFacts, *, on: date, codes: Codes) -> list[tuple[str, str]]:
    """``[(element, message)]``: what would make this grant's activity invalid."""
    found = []
    if not grant.reference:
        found.append(("iati-identifier", _("The grant has no reference to identify it by.")))
    if not grant.title.strip():
        found.append(("title", _("The grant has no title.")))
    if not (grant.summary.strip() or grant.development_goal.strip()):
        found.append(("description", _("The grant has no summary or development goal.")))
    if not grant.sector:
        found.append(("sector", _("The grant has no sector.")))
    elif codes.sectors is not None and grant.sector not in codes.sectors:
        found.append(
            (
                "sector",
                _("Sector %(sector)s is not a DAC purpose code of IATI's codelist.")
                % {"sector": grant.sector},
            )
        )
    for country in grant.recipients:
        if not country["alpha2"]:
            found.append(
                (
                    "recipient-country",
                    _("%(name)s has no ISO alpha-2 code.") % {"name": country["name"]},
                )
            )
        elif codes.countries is not None and country["alpha2"] not in codes.countries:
            found.append(
                (
                    "recipient-country",
                    _("%(name)s (%(alpha2)s) is not in IATI's country codelist.")
                    % {"name": country["name"], "alpha2": country["alpha2"]},
                )
            )
    if grant.planned_end < grant.planned_start:
        found.append(("activity-date", _("The planned end is before the planned start.")))
    approved_on = grant.approved_on
    if grant.approved_usd is None or approved_on is None:
        found.append(("transaction", _("The approval has no date or amount: no commitment.")))
    elif approved_on > on:
        found.append(
            (
                "transaction",
                _("The approval is dated in the future (%(approved_on)s).")
                % {"approved_on": approved_on},
            )
        )
    if grant.released_usd and grant.released_on is None:
        found.append(("transaction", _("Money was released but no cancelling or closing date.")))
    for disbursement in grant.disbursements:
        if disbursement["disbursed_on"] > on:
            found.append(
                (
                    "transaction",
                    _("A disbursement is dated in the future (%(disbursed_on)s).")
                    % {"disbursed_on": disbursement["disbursed_on"]},
                )
            )
    if grant.actual_start and grant.actual_start > on:
        found.append(
            (
                "activity-date",
                _("The actual start is in the future (%(day)s).") % {"day": grant.actual_start},
            )
        )
    if grant.actual_end and grant.actual_end > on:
        found.append(
            (
                "activity-date",
                _("The actual end is in the future (%(day)s).") % {"day": grant.actual_end},
            )
        )
    return found


def fund_problems(fund: FundFacts, *, on: date) -> list[Problem]:
    """The fund's own activity: pledges and receipts dated in the future are left out."""
    found = []
    by_id = {c["id"]: c for c in fund.contributions}
    for contribution in fund.contributions:
        if contribution_date(contribution) > on:
            found.append(
                Problem(
                    None,
                    contribution["reference"],
                    "transaction",
                    _("The pledge is dated in the future (%(contribution_date)s).")
                    % {"contribution_date": contribution_date(contribution)},
                )
            )
    for receipt in fund.receipts:
        if receipt["received_on"] > on:
            found.append(
                Problem(
                    None,
                    by_id[receipt["contribution_id"]]["reference"],
                    "transaction",
                    f"A receipt is dated in the future ({receipt['received_on']}).",
                )
            )
    return found


def all_problems(*, on: date | None = None, grants=None) -> list[Problem]:
    """Every problem of every published grant (by id), then the fund's."""
    from .data import fund_facts

    on = on or today()
    codes = Codes.load()
    out = []
    for batch in grant_batches(grants):
        for grant in batch:
            for element, message in grant_problems(grant, on=on, codes=codes):
                out.append(Problem(grant.id, grant.reference or "", element, message))
    out += fund_problems(fund_facts(), on=on)
    return out
