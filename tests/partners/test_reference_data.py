"""Checks for the static reference data in partners/data/.

Plain pytest functions: no Django, no database.  The IATI codelists and
the 2011 review tables live in ../shared beside the repository; if they
are missing the tests fail (they never skip).
"""

import csv
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pycountry
import pytest

DATA_DIR = Path(__file__).resolve().parents[2] / "partners" / "data"
SHARED_DIR = Path(__file__).resolve().parents[3] / "shared"
CODELIST_DIR = SHARED_DIR / "iati" / "codelists"
REVIEW_DIR = SHARED_DIR / "data"

REGIONS = {"AFR", "EAP", "ECA", "LCR", "MNA", "SAR", "OTH"}
INCOME_GROUPS = {"low", "lower_middle", "upper_middle", "high", "unclassified"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

SPOT_CHECKS = {
    "AFG": ("SAR", "low"),
    "BRA": ("LCR", "upper_middle"),
    "CAN": ("OTH", "high"),
    "CHN": ("EAP", "upper_middle"),
    "DNK": ("ECA", "high"),
    "HTI": ("LCR", "lower_middle"),
    "IND": ("SAR", "lower_middle"),
    "KGZ": ("ECA", "lower_middle"),
    "MAR": ("MNA", "lower_middle"),
    "TZA": ("AFR", "lower_middle"),
    "USA": ("OTH", "high"),
    "DEU": ("ECA", "high"),
    "ETH": ("AFR", "low"),
    "MEX": ("LCR", "upper_middle"),
    "HKG": ("EAP", "high"),
    "PRI": ("LCR", "high"),
    "GRL": ("ECA", "high"),
    "PSE": ("MNA", "lower_middle"),
    "VEN": ("LCR", "unclassified"),
    "ATA": ("OTH", "unclassified"),
    "BVT": ("OTH", "unclassified"),
}


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(
            f"Required reference file {path} is missing; the shared IATI "
            "codelists and review tables must be checked out in ../shared "
            "beside the repository.",
            pytrace=False,
        )
    return path


def _read_csv(path: Path) -> list[dict[str, str]]:
    with _require(path).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _header(path: Path) -> list[str]:
    with _require(path).open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def _english_name(item: ET.Element) -> str:
    for narrative in item.find("name"):
        if narrative.get(XML_LANG) in (None, "en"):
            return (narrative.text or "").strip()
    raise AssertionError(f"no English name for {item.findtext('code')}")


def _codelist(filename: str) -> dict[str, ET.Element]:
    root = ET.parse(_require(CODELIST_DIR / filename)).getroot()
    return {item.findtext("code").strip(): item for item in root.iter("codelist-item")}


def _countries() -> list[dict[str, str]]:
    return _read_csv(DATA_DIR / "countries.csv")


def _sectors() -> list[dict[str, str]]:
    return _read_csv(DATA_DIR / "sectors.csv")


def _review_keywords() -> set[str]:
    keywords: set[str] = set()
    for filename, column in (
        ("review_exchanges.csv", "sector"),
        ("partner_profiles.csv", "sector_emphases"),
    ):
        for row in _read_csv(REVIEW_DIR / filename):
            keywords.update(part.strip().lower() for part in row[column].split(";") if part.strip())
    for row in _read_csv(REVIEW_DIR / "annex_d_capacity_outcomes.csv"):
        keywords.add(row["project"].strip().lower())
    return keywords


# --- countries.csv ---------------------------------------------------------


def test_countries_header():
    assert _header(DATA_DIR / "countries.csv") == ["alpha3", "region", "income_group"]


def test_countries_cover_exactly_pycountry():
    codes = [row["alpha3"] for row in _countries()]
    assert len(codes) == len(set(codes)), "duplicate alpha3 codes"
    assert codes == sorted(codes), "countries.csv must be sorted by alpha3"
    assert set(codes) == {c.alpha_3 for c in pycountry.countries}


def test_countries_use_allowed_values():
    for row in _countries():
        assert row["region"] in REGIONS, row
        assert row["income_group"] in INCOME_GROUPS, row


@pytest.mark.parametrize("alpha3", sorted(SPOT_CHECKS))
def test_country_spot_checks(alpha3):
    by_code = {row["alpha3"]: row for row in _countries()}
    region, income = SPOT_CHECKS[alpha3]
    assert by_code[alpha3]["region"] == region
    assert by_code[alpha3]["income_group"] == income


def test_every_income_group_and_region_is_used():
    rows = _countries()
    assert {row["region"] for row in rows} == REGIONS
    assert {row["income_group"] for row in rows} == INCOME_GROUPS


# --- sectors.csv -----------------------------------------------------------


def test_sectors_header_and_size():
    assert _header(DATA_DIR / "sectors.csv") == ["code", "name", "category"]
    assert len(_sectors()) >= 60


def test_sectors_unique_and_sorted():
    codes = [row["code"] for row in _sectors()]
    duplicates = [code for code, n in Counter(codes).items() if n > 1]
    assert not duplicates, f"duplicate sector codes: {duplicates}"
    assert codes == sorted(codes), "sectors.csv must be sorted by code"


def test_sectors_match_iati_codelists():
    sectors = _codelist("Sector.xml")
    categories = _codelist("SectorCategory.xml")
    for row in _sectors():
        code = row["code"]
        assert len(code) == 5 and code.isdigit(), row
        assert code in sectors, f"{code} not in IATI Sector.xml"
        item = sectors[code]
        assert item.get("status", "active") == "active", f"{code} is withdrawn"
        assert _english_name(item) == row["name"], code
        category = item.findtext("category").strip()
        assert category == code[:3], code
        assert category in categories, f"{category} not in SectorCategory.xml"
        assert _english_name(categories[category]) == row["category"], code


# --- review_sectors.csv ----------------------------------------------------


def test_review_sectors_header_and_uniqueness():
    assert _header(DATA_DIR / "review_sectors.csv") == ["keyword", "code"]
    keywords = [row["keyword"] for row in _read_csv(DATA_DIR / "review_sectors.csv")]
    assert len(keywords) == len(set(keywords)), "duplicate keywords"
    assert all(k == k.strip().lower() for k in keywords), "keywords must be lower-case"


def test_every_review_keyword_is_mapped_to_a_known_sector():
    mapping = {row["keyword"]: row["code"] for row in _read_csv(DATA_DIR / "review_sectors.csv")}
    sector_codes = {row["code"] for row in _sectors()}
    keywords = _review_keywords()
    assert keywords, "no sector keywords found in the review tables"
    missing = sorted(keywords - set(mapping))
    assert not missing, f"review keywords without a sector code: {missing}"
    unknown = sorted(k for k, code in mapping.items() if code not in sector_codes)
    assert not unknown, f"keywords mapped to codes absent from sectors.csv: {unknown}"
