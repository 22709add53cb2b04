"""Pages in the reader's language (README "Languages"): money, numbers and dates in the
language's formats (Django's, and the project's own for Chinese and Arabic), exact
(Decimal, never float); CSV, XLSX and the API keep their machine formats; country names
from pycountry's own translations; Arabic right to left with stylesheets written in
logical properties; the scripts' strings from a served catalogue."""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pycountry
import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from partners.countries import country_name
from partners.models import Country
from seetf.common.templatetags.seetf_web import money
from tests.grants.factories import make_grant
from tests.web.pages import page

pytestmark = pytest.mark.django_db

NBSP = "\xa0"
STYLESHEETS = sorted((Path(settings.BASE_DIR) / "seetf" / "static").rglob("*.css"))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "1,234,567.50"),
        ("es", f"1{NBSP}234{NBSP}567,50"),
        ("fr", f"1{NBSP}234{NBSP}567,50"),
        ("pt", "1.234.567,50"),
        ("ru", f"1{NBSP}234{NBSP}567,50"),
        # The project's own: Django groups Chinese by four without a separator, and
        # Arabic not at all.
        ("zh-hans", "1,234,567.50"),
        ("ar", "1,234,567.50"),
    ],
)
def test_money_is_grouped_in_the_languages_format(language, expected):
    with translation.override(language):
        assert money(Decimal("1234567.50")) == expected


def test_money_stays_exact_in_every_language():
    huge = Decimal("98765432109876543.21")  # beyond a float's 15-16 digits
    with translation.override("fr"):
        assert money(huge) == NBSP.join(["98", "765", "432", "109", "876", "543,21"])
    with translation.override("en"):
        assert money("0.10") == "0.10" and money(Decimal("0.1") + Decimal("0.2")) == "0.30"


@pytest.mark.parametrize(
    ("language", "day", "moment"),
    [
        ("en", "2026-12-01", "2026-12-01 14:05"),  # as the English pages always showed
        ("fr", "01/12/2026", "01/12/2026 14:05"),
        ("es", "01/12/2026", "01/12/2026 14:05"),
        ("pt", "01/12/2026", "01/12/2026 14:05"),
        ("ru", "01.12.2026", "01.12.2026 14:05"),
        ("zh-hans", "2026年12月1日", "2026年12月1日 14:05"),
        ("ar", "01\u200f/12\u200f/2026", "01\u200f/12\u200f/2026 14:05"),
    ],
)
def test_dates_are_written_in_the_languages_format(language, day, moment):
    template = Template('{{ d|date:"SHORT_DATE_FORMAT" }}|{{ m|date:"SHORT_DATETIME_FORMAT" }}')
    with translation.override(language):
        rendered = template.render(
            Context({"d": date(2026, 12, 1), "m": datetime(2026, 12, 1, 14, 5)})
        )
    assert rendered == f"{day}|{moment}"


def test_ids_years_and_counts_are_not_grouped():
    with translation.override("fr"):
        assert Template("{{ n }}").render(Context({"n": 2026})) == "2026"


def test_a_page_in_french_writes_money_and_dates_the_french_way(web, leader):
    grant = make_grant(leader, requested_usd=Decimal("123456.00"))
    client = web(leader, headers={"accept-language": "fr"})
    response = client.get("/grants/")
    assert f"123{NBSP}456,00" in response.content.decode()  # a no-break space
    row = page(response).testid("grant-table")
    assert grant.planned_start.strftime("%d/%m/%Y") in row.text
    english = page(web(leader).get("/grants/")).testid("grant-table").text
    assert "123,456.00" in english and grant.planned_start.isoformat() in english


def test_csv_xlsx_and_the_api_keep_their_machine_formats_in_french(web, leader):
    grant = make_grant(leader, requested_usd=Decimal("123456.00"))
    client = web(leader, headers={"accept-language": "fr"})
    response = client.get("/grants/?format=csv")
    assert response["Content-Language"] == "fr"
    (row,) = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))[:-1]
    assert row["requested_usd"] == "123456.00"
    assert row["planned_start"] == grant.planned_start.isoformat()
    api = client.get(f"/api/v1/grants/{grant.pk}/").json()
    assert api["requested_usd"] == "123456.00"
    assert api["planned_start"] == grant.planned_start.isoformat()


# --- Country names ------------------------------------------------------------------------


def test_country_names_come_from_pycountrys_translations():
    cote = Country.objects.get(code="CIV")
    with translation.override("en"):
        assert country_name(cote) == cote.name
    fr = pycountry.countries.get(alpha_3="CIV")
    import gettext

    catalogue = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    assert country_name(cote, "fr") == catalogue.gettext(fr.name) == "Côte d'Ivoire"
    assert country_name(Country.objects.get(code="DEU"), "fr") == "Allemagne"
    assert country_name(Country.objects.get(code="DEU"), "es") == "Alemania"
    assert country_name(Country.objects.get(code="DEU"), "ru") == "Германия"
    assert country_name(Country.objects.get(code="DEU"), "zh-hans") == "德国"
    assert country_name(Country.objects.get(code="DEU"), "ar") == "ألمانيا"
    assert country_name("Brazil", "pt") == "Brasil"
    assert country_name("No such country", "fr") == "No such country"
    assert country_name(None) == ""


def test_a_page_names_the_countries_in_its_language_and_the_api_does_not(web, leader):
    grant = make_grant(
        leader,
        recipient_countries=[Country.objects.get(code="BRA")],
        provider_countries=[Country.objects.get(code="MEX")],
    )
    client = web(leader, headers={"accept-language": "fr"})
    text = page(client.get(f"/grants/{grant.pk}/")).find("main").text
    assert "Brésil" in text and "Mexique" in text
    assert "Brazil" in page(web(leader).get(f"/grants/{grant.pk}/")).find("main").text
    api = client.get(f"/api/v1/grants/{grant.pk}/")
    assert api.status_code == 200
    assert "Brésil" not in api.content.decode() and "Mexique" not in api.content.decode()


# --- Right to left --------------------------------------------------------------------------


def test_arabic_pages_are_right_to_left_and_others_are_not(web, leader):
    for language, tag in (("ar", '<html lang="ar" dir="rtl">'), ("fr", '<html lang="fr">')):
        body = web(leader, headers={"accept-language": language}).get("/").content.decode()
        assert tag in body


@pytest.mark.parametrize("stylesheet", STYLESHEETS, ids=lambda p: p.name)
def test_the_stylesheets_use_logical_properties(stylesheet):
    """No physical left/right: margin-inline-start, text-align: start, inset-inline-end..."""
    css = re.sub(r"/\*.*?\*/", "", stylesheet.read_text(encoding="utf-8"), flags=re.S)
    physical = re.findall(
        r"(?:^|[;{\s])((?:margin|padding|border)-(?:left|right)[\w-]*|(?<![\w-])(?:left|right)"
        r"\s*:|text-align\s*:\s*(?:left|right)|float\s*:\s*(?:left|right)|clear\s*:\s*(?:left|right))",
        css,
    )
    assert not physical, f"{stylesheet.name}: {physical}"
    # Shorthands with four different sides would not mirror either.
    four = [
        m
        for m in re.findall(r"(?:margin|padding|inset)\s*:\s*([^;}]+)", css)
        if len(m.split()) == 4 and m.split()[1] != m.split()[3]
    ]
    assert not four, f"{stylesheet.name}: {four}"


# --- The scripts' strings -----------------------------------------------------------------


def test_the_scripts_catalogue_is_served_per_language_from_the_site():
    response = Client().get("/i18n/js/fr/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "django.gettext" in response.content.decode()
    assert "max-age=3600" in response["Cache-Control"]
    assert Client().get("/i18n/js/de/").status_code == 404


def test_a_page_not_in_english_loads_the_scripts_catalogue_before_its_scripts():
    french = Client(headers={"accept-language": "fr"}).get("/hub/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', french)
    assert "/i18n/js/fr/" in scripts
    assert scripts.index("/i18n/js/fr/") < scripts.index(next(s for s in scripts if "forms" in s))
    english = Client().get("/hub/").content.decode()
    assert "/i18n/js/" not in english


def test_the_scripts_strings_are_marked():
    script = (Path(settings.BASE_DIR) / "seetf" / "static" / "seetf" / "forms.js").read_text()
    marked = re.findall(r'gettext\("([^"]+)"\)', script)
    assert marked == ["Type to find", "Chosen: %s", "None chosen.", "Add a row", "Remove this row"]
