"""Languages as ISO 639-1 two-letter codes, validated against pycountry's ISO 639 data
(a requirement of the project); should pycountry be missing, against the list below
(the ISO 639-1 codes of the Library of Congress's registration authority,
https://www.loc.gov/standards/iso639-2/php/code_list.php, retrieved 2026)."""

try:  # pragma: no cover - which branch depends on the installation
    import pycountry
except ImportError:  # pragma: no cover
    pycountry = None

FALLBACK_CODES = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi
    ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks
    ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl
    nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl
    sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
    vi vo wa wo xh yi yo za zh zu""".split()
)


def is_language(code: str) -> bool:
    """Whether ``code`` is an ISO 639-1 code (lower case, two letters)."""
    if not isinstance(code, str) or len(code) != 2 or not code.isascii() or not code.islower():
        return False
    if pycountry is not None:
        return pycountry.languages.get(alpha_2=code) is not None
    return code in FALLBACK_CODES


def language_name(code: str) -> str:
    if pycountry is not None:
        language = pycountry.languages.get(alpha_2=code)
        if language is not None:
            return language.name
    return code
