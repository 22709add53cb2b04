"""Country names in the reader's language (README "Languages"): pycountry's own
translations of ISO 3166-1 (its gettext catalogues ``iso3166-1``), for pages only. The
stored ``Country.name`` (English: ISO's common name where it has one), the codes and the
API's names stay as they are."""

import gettext
from functools import lru_cache

import pycountry
from django.utils import translation

# The site's languages -> pycountry's catalogue of that language (Chinese: simplified).
PYCOUNTRY_LOCALES = {
    "es": "es",
    "fr": "fr",
    "pt": "pt",
    "ru": "ru",
    "zh-hans": "zh_CN",
    "ar": "ar",
}


@lru_cache(maxsize=16)
def _catalogue(language: str):
    locale = PYCOUNTRY_LOCALES.get(language)
    if locale is None:
        return None
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale])
    except OSError:
        return None


def country_name(country, language: str | None = None) -> str:
    """``country`` (a ``Country``, or the English name one stores) named in ``language``
    (the active language by default); the English name where pycountry has no
    translation."""
    if country is None or country == "":
        return ""
    name = getattr(country, "name", country)
    catalogue = _catalogue(language or translation.get_language() or "en")
    if catalogue is None:
        return str(name)
    return catalogue.gettext(str(name))
