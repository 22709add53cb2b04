"""The project's own reference data: countries (names and codes from pycountry, region
and income group from partners/data/countries.csv) and DAC sectors
(partners/data/sectors.csv). Loaded by a migration, and again by `load_reference_data`
when the files change."""

import csv
from pathlib import Path

import pycountry

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_csv(name: str) -> list[dict]:
    """Rows of one of the project's CSV files; lines starting with # are comments."""
    with open(DATA_DIR / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def country_rows() -> list[dict]:
    classification = {row["alpha3"]: row for row in read_csv("countries.csv")}
    rows = []
    for country in pycountry.countries:
        extra = classification[country.alpha_3]
        rows.append(
            {
                "code": country.alpha_3,
                "alpha2": country.alpha_2,
                # The common name where ISO has one: "Bolivia", not its official name.
                "name": getattr(country, "common_name", None) or country.name,
                "region": extra["region"],
                "income_group": extra["income_group"],
            }
        )
    return rows


def sector_rows() -> list[dict]:
    return read_csv("sectors.csv")


def load_reference_data(Country, Sector) -> tuple[int, int]:
    """Create or update every country and sector (idempotent); returns their counts."""
    for row in country_rows():
        Country.objects.update_or_create(code=row["code"], defaults=row)
    for row in sector_rows():
        Sector.objects.update_or_create(code=row["code"], defaults=row)
    return Country.objects.count(), Sector.objects.count()


def ensure_reference_data() -> None:
    """Put back what the migrations load (countries, sectors, the role groups, the fund's
    ledger row) when something emptied the tables, e.g. a test database flush."""
    from django.contrib.auth.models import Group

    from .models import Country, Fund, Sector
    from .roles import Role

    if not Country.objects.exists():
        Country.objects.bulk_create(Country(**row) for row in country_rows())
    if not Sector.objects.exists():
        Sector.objects.bulk_create(Sector(**row) for row in sector_rows())
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    Fund.objects.get_or_create(pk=1)
