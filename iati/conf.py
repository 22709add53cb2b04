"""The settings IATI publishing reads (seetf/settings/base.py, "IATI publishing")."""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class ReportingOrg:
    ref: str
    type: str
    name: str
    language: str
    currency: str
    fiscal_year_first_month: int
    fund_code: str

    @property
    def fund_activity_id(self) -> str:
        """The fund's own activity (``hierarchy="1"``)."""
        return f"{self.ref}-{self.fund_code}"

    def grant_activity_id(self, reference: str) -> str:
        """A grant's activity (``hierarchy="2"``): ``<reporting-org ref>-<reference>``."""
        return f"{self.ref}-{reference}"


def reporting_org() -> ReportingOrg:
    month = settings.IATI_FISCAL_YEAR_FIRST_MONTH
    if not 1 <= month <= 12:
        raise ImproperlyConfigured("IATI_FISCAL_YEAR_FIRST_MONTH is a month: 1 to 12.")
    if not settings.IATI_REPORTING_ORG_REF:
        raise ImproperlyConfigured("Set IATI_REPORTING_ORG_REF, the fund's IATI identifier.")
    return ReportingOrg(
        ref=settings.IATI_REPORTING_ORG_REF,
        type=settings.IATI_REPORTING_ORG_TYPE,
        name=settings.IATI_REPORTING_ORG_NAME,
        language=settings.IATI_DEFAULT_LANGUAGE,
        currency=settings.IATI_DEFAULT_CURRENCY,
        fiscal_year_first_month=month,
        fund_code=settings.IATI_FUND_ACTIVITY_CODE,
    )


class SchemaDirMissing(ImproperlyConfigured):
    """The official IATI files are not where IATI_SCHEMA_DIR says (or it is not set)."""


def schema_dir() -> Path:
    """The folder of the official IATI 2.03 files: ``2.03/`` (the XSDs), ``codelists/``
    (with ``mapping.xml``) and ``rulesets/standard.json``. Says clearly what is wrong."""
    configured = getattr(settings, "IATI_SCHEMA_DIR", "")
    if not configured:
        raise SchemaDirMissing(
            "IATI_SCHEMA_DIR is not set: point it at the folder holding the official IATI "
            "2.03 schemas (2.03/), codelists (codelists/) and rulesets (rulesets/)."
        )
    folder = Path(configured)
    needed = [
        folder / "2.03" / "iati-activities-schema.xsd",
        folder / "2.03" / "iati-organisations-schema.xsd",
        folder / "codelists" / "mapping.xml",
        folder / "rulesets" / "standard.json",
    ]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        raise SchemaDirMissing(
            f"IATI_SCHEMA_DIR={configured} lacks the official IATI files: {', '.join(missing)}"
        )
    return folder
