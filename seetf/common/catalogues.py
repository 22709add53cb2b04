"""The translation catalogues (README "Languages"): compiled by the install step, checked
by the tests. Pure Python (babel): running the site needs no GNU gettext; only
``make messages`` (Django's makemessages) does.

    python -m seetf.common.catalogues compile [LOCALE_DIR]
    python -m seetf.common.catalogues messages        (`make messages`)

``compile`` compiles every ``<LOCALE_DIR>/<lang>/LC_MESSAGES/*.po`` to its ``.mo``
beside it (default ``locale/``); a missing or empty folder compiles nothing and is no
error. Fuzzy entries are left out, as GNU msgfmt does.

``messages`` runs Django's ``makemessages`` (GNU gettext's xgettext and msgmerge) for the
six languages and both domains with ``MAKEMESSAGES_OPTIONS``: the templates' and Python's
strings into ``django.po``, the scripts' (seetf/static/seetf/*.js) into ``djangojs.po``.
tests/test_catalogues.py runs the same into a copy and compares.
"""

from __future__ import annotations

import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

BASE_DIR = Path(__file__).resolve().parent.parent.parent
LOCALE_DIR = BASE_DIR / "locale"
# The site's languages but English, as gettext names their folders.
LOCALES = ("es", "fr", "pt", "ru", "zh_Hans", "ar")
DOMAINS = ("django", "djangojs")
# The plural forms each language must have (msgstr[0..n-1] of a msgid_plural entry).
NPLURALS = {"es": 2, "fr": 2, "pt": 2, "ru": 3, "zh_Hans": 1, "ar": 6}

# `make messages`: file names without line numbers (context for translators, and no
# change in a catalogue when code only moves), no obsolete entries, unwrapped lines,
# nothing from the tests, the benchmark, environments or collected static files.
MAKEMESSAGES_OPTIONS = {
    "locale": list(LOCALES),
    "add_location": "file",
    "no_obsolete": True,
    "no_wrap": True,
    "ignore_patterns": [".venv", "env", "tests", "bench", "staticfiles", "var", "locale"],
}


def makemessages(locale_dir: Path | None = None, verbosity: int = 0) -> None:
    """Django's makemessages for both domains, from the project's folder, into its
    ``locale/`` or into ``locale_dir`` (a copy, for the test). Needs GNU gettext (Debian:
    apt-get install gettext).

    Into a copy, it runs over a shadow of the project's folder (a temporary folder of
    links to each of its entries, ``locale`` pointing to the copy), followed through the
    links: makemessages writes each string into the ``locale`` beside the files it read,
    so this is the one way to run it unchanged on the project and leave locale/ alone."""
    import os
    import tempfile

    from django.core.management import call_command
    from django.test.utils import override_settings

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as shadow:
        options = dict(MAKEMESSAGES_OPTIONS)
        root = BASE_DIR
        if locale_dir is not None and Path(locale_dir).resolve() != LOCALE_DIR.resolve():
            root = Path(shadow)
            for entry in BASE_DIR.iterdir():
                if entry.name not in ("locale", ".git"):
                    (root / entry.name).symlink_to(entry)
            (root / "locale").symlink_to(Path(locale_dir).resolve())
            options["symlinks"] = True
        os.chdir(root)
        try:
            with override_settings(LOCALE_PATHS=[str(root / "locale")]):
                for domain in DOMAINS:
                    call_command("makemessages", domain=domain, verbosity=verbosity, **options)
        finally:
            os.chdir(here)


# %(name)s, %s, %d, %.2f... (not %%), and {name} / {0} / {}.
_PRINTF = re.compile(r"%(?:\([^)]+\))?[#0 +-]*\d*(?:\.\d+)?[sdifrxXeEgGcou]")
_BRACES = re.compile(r"(?<!\{)\{[A-Za-z0-9_]*\}(?!\})")


def placeholders(text: str) -> list[str]:
    """The placeholders of ``text``, sorted (their order may change in a translation)."""
    text = text.replace("%%", "")
    return sorted(_PRINTF.findall(text) + _BRACES.findall(text))


def catalogue_files(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    if not locale_dir.is_dir():
        return []
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def read(path: Path):
    with open(path, "rb") as handle:
        return read_po(handle, abort_invalid=True)


def compile_all(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write each catalogue's ``.mo``; returns the files written. Each file is written
    beside its final name and renamed over it, so that a process reading it meanwhile (a
    test worker of a parallel run, a server) reads the old file or the new, never half."""
    written = []
    for po in catalogue_files(locale_dir):
        buffer = io.BytesIO()
        write_mo(buffer, read(po), use_fuzzy=False)
        mo = po.with_suffix(".mo")
        part = mo.with_name(f"{mo.name}.{os.getpid()}.part")
        part.write_bytes(buffer.getvalue())
        os.replace(part, mo)
        written.append(mo)
    return written


@dataclass
class Problem:
    file: str
    msgid: str
    what: str

    def __str__(self):
        return f"{self.file}: {self.msgid!r}: {self.what}"


def problems(path: Path, nplurals: int | None = None) -> list[Problem]:
    """What keeps a catalogue from being complete: a fuzzy header or entry, an empty
    msgstr, a msgstr whose placeholders are not its msgid's, a plural entry without
    exactly ``nplurals`` forms (the catalogue's Plural-Forms must say ``nplurals`` too; a
    missing form reads as an empty one, one too many makes the file invalid)."""
    name = str(path.relative_to(path.parents[2]))
    try:
        catalogue = read(path)
    except PoFileError as error:  # e.g. more plural forms than Plural-Forms says
        return [Problem(name, "", f"invalid: {error}")]
    found: list[Problem] = []
    if catalogue.fuzzy:
        found.append(Problem(name, "", "the header is fuzzy"))
    if nplurals is not None and catalogue.num_plurals != nplurals:
        found.append(
            Problem(name, "", f"Plural-Forms has nplurals={catalogue.num_plurals}, not {nplurals}")
        )
    for message in catalogue:
        if not message.id:
            continue
        ids = list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]
        strings = (
            list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]
        )
        label = ids[0]
        if message.fuzzy:
            found.append(Problem(name, label, "fuzzy"))
        if message.pluralizable and nplurals is not None and len(strings) != nplurals:
            found.append(Problem(name, label, f"{len(strings)} plural forms, not {nplurals}"))
        if any(not (s or "").strip() for s in strings):
            found.append(Problem(name, label, "untranslated (empty msgstr)"))
            continue
        if message.pluralizable:
            for s in strings:
                what = _plural_form_problem(placeholders(s), [placeholders(i) for i in ids])
                if what:
                    found.append(Problem(name, label, what))
        elif placeholders(strings[0]) != placeholders(ids[0]):
            found.append(
                Problem(
                    name,
                    label,
                    f"placeholders {placeholders(strings[0])} differ from {placeholders(ids[0])}",
                )
            )
    return found


def _plural_form_problem(form: list[str], msgids: list[list[str]]) -> str:
    """A plural form may use the singular's or the plural's placeholders, and may leave
    out one named placeholder (the count: Arabic's "one" and "two" forms say it in
    words); a positional one (%s, %d, {}) may not be left out."""
    if form in msgids:
        return ""
    allowed = set().union(*map(set, msgids))
    if not set(form) <= allowed:
        return f"placeholders {sorted(set(form) - allowed)} are not the msgid's"
    plural = msgids[-1]
    missing = [p for p in plural if p not in form]
    if any(not p.startswith("%(") and not p.startswith("{") or p == "{}" for p in missing):
        return f"positional placeholders {missing} left out"
    if len(missing) > 1:
        return f"placeholders {missing} left out"
    return ""


def entries(path: Path) -> dict:
    """msgid (with context and plural) -> msgstr of a catalogue, its header left out."""
    catalogue = read(path)
    return {
        (
            message.context,
            message.id if not isinstance(message.id, list) else tuple(message.id),
        ): message.string
        for message in catalogue
        if message.id
    }


def main(argv: list[str]) -> int:
    if argv and argv[0] == "messages":
        import os

        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seetf.settings.local")
        django.setup()
        LOCALE_DIR.mkdir(exist_ok=True)
        makemessages(verbosity=1)
        return 0
    if not argv or argv[0] != "compile":
        print(__doc__)
        return 2
    locale_dir = Path(argv[1]) if len(argv) > 1 else LOCALE_DIR
    written = compile_all(locale_dir)
    print(f"{len(written)} catalogue(s) compiled under {locale_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
