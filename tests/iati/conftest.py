"""The official IATI 2.03 files the tests validate against are in ../shared/iati (the
test settings' IATI_SCHEMA_DIR, or the environment's): never copied into the project.
Missing, every IATI test fails, saying where it looked (no silent skip)."""

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from iati.publish import FILES

NS = {"seetf": "urn:seetf:iati"}


@pytest.fixture(autouse=True)
def official_iati_files(settings, tmp_path):
    folder = Path(settings.IATI_SCHEMA_DIR or "(IATI_SCHEMA_DIR not set)")
    needed = [
        folder / "2.03" / "iati-activities-schema.xsd",
        folder / "2.03" / "iati-organisations-schema.xsd",
        folder / "codelists" / "mapping.xml",
        folder / "rulesets" / "standard.json",
    ]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        pytest.fail(
            "The official IATI files are missing (set IATI_SCHEMA_DIR, by default the "
            f"repository's sibling ../shared/iati): {', '.join(missing)}"
        )
    settings.IATI_CACHE_DIR = str(tmp_path / "iati-cache")
    return folder


def file_bytes(kind: str) -> bytes:
    return b"".join(FILES[kind]())


def official_xsd(folder: Path, kind: str) -> etree.XMLSchema:
    name = {
        "activities": "iati-activities-schema.xsd",
        "organisation": "iati-organisations-schema.xsd",
    }
    return etree.XMLSchema(etree.parse(str(folder / "2.03" / name[kind])))


def activities(xml: bytes) -> dict:
    """identifier -> activity element."""
    root = etree.fromstring(xml)
    return {a.findtext("iati-identifier"): a for a in root.iter("iati-activity")}


def transactions(activity, kind: str) -> list:
    return [
        t for t in activity.iter("transaction") if t.find("transaction-type").get("code") == kind
    ]


def value_sum(items) -> Decimal:
    return sum((Decimal(t.findtext("value")) for t in items), Decimal("0.00"))


def usd_sum(items) -> Decimal:
    return sum((Decimal(t.find("seetf:usd-value", NS).text) for t in items), Decimal("0.00"))
