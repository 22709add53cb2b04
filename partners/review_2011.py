"""The partners and contributions of the 2011 review's Annex C, as demo data.

Loaded through the same services as real data, so the fund's ledger is exactly what
recording those pledges and receipts by hand would give.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction

from .models import Contribution, Country, IatiOrgType, Partner
from .reference_data import read_csv
from .services import contribution_create, receipt_record


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


@transaction.atomic
def load_review_contributions() -> dict:
    """Create the nine partners, their pledges and what they paid in (idempotent).

    A contribution already loaded is left as it is: its receipt is recorded only once.
    """
    created = {"partners": 0, "contributions": 0, "receipts": 0}
    for row in read_csv("review_2011/contributions.csv"):
        partner, made = Partner.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "kind": row["kind"],
                "country": Country.objects.get(code=row["code"]),
                "joined_on": _date(row["joined_on"]),
                # Every partner of the review is a country: its government gives.
                "iati_org_ref": row["iati_org_ref"],
                "iati_org_type": IatiOrgType.GOVERNMENT,
            },
        )
        created["partners"] += made
        reference = f"SEETF-C-{row['code']}-{row['joined_on'][:4]}"
        contribution = Contribution.objects.filter(reference=reference).first()
        if contribution is None:
            contribution = contribution_create(
                partner=partner,
                reference=reference,
                currency="USD",
                pledged_amount=Decimal(row["pledged_usd"]),
                signed_on=_date(row["joined_on"]),
                period_start=_date(row["period_start"]),
                period_end=_date(row["period_end"]),
            )
            created["contributions"] += 1
        received = Decimal(row["received_usd"])
        if received and not contribution.receipts.exists():
            receipt_record(
                contribution=contribution, amount=received, received_on=_date(row["received_on"])
            )
            created["receipts"] += 1
    return created
