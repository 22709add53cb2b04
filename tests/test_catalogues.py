"""The translation catalogues (README "Languages"): each of the six languages has a
complete catalogue for the templates and Python (django.po) and for the scripts
(djangojs.po): no untranslated, empty or fuzzy entry, no msgstr whose placeholders differ
from its msgid's, the right number of plural forms; and `make messages` (Django's
makemessages with seetf.common.catalogues.MAKEMESSAGES_OPTIONS), run into a copy, finds
no string marked in the code that a catalogue lacks, and none a catalogue has that the
code no longer marks. The checks are tried on catalogues made here to fail them.
"""

import gettext
import shutil
from pathlib import Path

import pytest

from seetf.common import catalogues

# The plural forms a language's catalogue may declare: the CLDR count, or Django's own
# catalogue's (es, fr, pt: 3, a form for millions; ru: 4).
NPLURALS = {"es": {2, 3}, "fr": {2, 3}, "pt": {2, 3}, "ru": {3, 4}, "zh_Hans": {1}, "ar": {6}}


def _po(tmp_path: Path, body: str, plural_forms: str = "nplurals=2; plural=(n != 1);") -> Path:
    path = tmp_path / "xx" / "LC_MESSAGES" / "django.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        f'"Plural-Forms: {plural_forms}\\n"\n\n' + body,
        encoding="utf-8",
    )
    return path


# --- The checker ----------------------------------------------------------------------


def test_the_checker_finds_each_kind_of_problem(tmp_path):
    path = _po(
        tmp_path,
        'msgid "Empty"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Fuzzy"\nmsgstr "Flou"\n\n'
        'msgid "Grant %(reference)s"\nmsgstr "Subvention %(ref)s"\n\n'
        'msgid "%s of %s"\nmsgstr "%s"\n\n'
        'msgid "{count} left"\nmsgstr "reste"\n\n'
        'msgid "%(n)s grant"\nmsgid_plural "%(n)s grants"\nmsgstr[0] "%(n)s subvention"\n\n'
        'msgid "Fine %(a)s, {b} and 100%%"\nmsgstr "Bien {b}, %(a)s et 100 %%"\n\n'
        'msgid "%(counter)s answer"\nmsgid_plural "%(counter)s answers"\n'
        'msgstr[0] "une réponse"\nmsgstr[1] "%(counter)s réponses"\n',
    )
    found = {(p.msgid, p.what.split(" ")[0]) for p in catalogues.problems(path, nplurals=2)}
    assert found == {
        ("Empty", "untranslated"),
        ("Fuzzy", "fuzzy"),
        ("Grant %(reference)s", "placeholders"),
        ("%s of %s", "placeholders"),
        ("{count} left", "placeholders"),
        ("%(n)s grant", "untranslated"),  # one plural form of two: the other is empty
    }


def test_the_checker_finds_too_many_plural_forms(tmp_path):
    path = _po(
        tmp_path,
        'msgid "%(n)s grant"\nmsgid_plural "%(n)s grants"\n'
        'msgstr[0] "a"\nmsgstr[1] "b"\nmsgstr[2] "c"\n',
    )
    (problem,) = catalogues.problems(path, nplurals=2)
    assert "more translations than num_plurals" in problem.what


def test_the_checker_finds_a_fuzzy_header_and_a_wrong_plural_count(tmp_path):
    path = _po(tmp_path, 'msgid "A"\nmsgstr "B"\n', plural_forms="nplurals=1; plural=0;")
    text = path.read_text(encoding="utf-8").replace('msgid ""', '#, fuzzy\nmsgid ""', 1)
    path.write_text(text, encoding="utf-8")
    whats = [p.what for p in catalogues.problems(path, nplurals=2)]
    assert whats == ["the header is fuzzy", "Plural-Forms has nplurals=1, not 2"]


def test_compiling_with_no_locale_folder_compiles_nothing(tmp_path):
    assert catalogues.compile_all(tmp_path / "locale") == []
    (tmp_path / "locale").mkdir()
    assert catalogues.compile_all(tmp_path / "locale") == []


def test_compiling_writes_a_catalogue_gettext_reads_without_its_fuzzy_entries(tmp_path):
    path = _po(tmp_path, 'msgid "Grant"\nmsgstr "Subvention"\n\n#, fuzzy\nmsgid "A"\nmsgstr "B"\n')
    (mo,) = catalogues.compile_all(tmp_path)
    assert mo == path.with_suffix(".mo")
    with open(mo, "rb") as handle:
        read = gettext.GNUTranslations(handle)
    assert read.gettext("Grant") == "Subvention"
    assert read.gettext("A") == "A"


# --- The project's catalogues ------------------------------------------------------------


@pytest.mark.parametrize("locale", catalogues.LOCALES)
@pytest.mark.parametrize("domain", catalogues.DOMAINS)
def test_each_catalogue_is_complete(locale, domain):
    path = catalogues.LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.po"
    assert path.is_file(), f"{path} is missing (README 'Languages': make messages)"
    nplurals = catalogues.read(path).num_plurals
    assert nplurals in NPLURALS[locale], f"{path}: nplurals={nplurals}"
    found = catalogues.problems(path, nplurals=nplurals)
    assert not found, f"{len(found)} problem(s):\n" + "\n".join(map(str, found[:50]))


def test_make_messages_leaves_the_catalogues_unchanged(tmp_path):
    """What `make messages` would write, made in a copy: the same entries as committed."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.fail(
            "makemessages needs GNU gettext (Debian: apt-get install gettext)", pytrace=False
        )
    copy = tmp_path / "locale"
    if catalogues.LOCALE_DIR.is_dir():
        shutil.copytree(catalogues.LOCALE_DIR, copy, ignore=shutil.ignore_patterns("*.mo"))
    else:
        copy.mkdir()
    catalogues.makemessages(copy)
    differences = []
    for made in sorted(copy.glob("*/LC_MESSAGES/*.po")):
        relative = made.relative_to(copy)
        committed = catalogues.LOCALE_DIR / relative
        if not committed.is_file():
            differences.append(f"{relative}: not committed")
            continue
        wanted, have = catalogues.entries(made), catalogues.entries(committed)
        missing = sorted(str(k[1]) for k in wanted.keys() - have.keys())
        extra = sorted(str(k[1]) for k in have.keys() - wanted.keys())
        if missing:
            differences.append(f"{relative}: {len(missing)} missing, e.g. {missing[:5]}")
        if extra:
            differences.append(f"{relative}: {len(extra)} no longer marked, e.g. {extra[:5]}")
    assert not differences, "run `make messages` and translate:\n" + "\n".join(differences)
