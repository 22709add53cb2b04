"""Every word the web pages show is marked for translation: no visible text in a page
template outside `{% translate %}` and `{% blocktranslate %}`, and none in the
attributes people read (aria-label, title, placeholder, alt)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines

ROOT = Path(settings.BASE_DIR)
TEMPLATE_DIRS = [
    ROOT / "templates",
    ROOT / "partners" / "templates" / "partners",
    ROOT / "grants" / "templates" / "grants",
    ROOT / "results" / "templates" / "results",
]
# E-mails are another team's, with their own test.
EXCLUDED = {"email"}

BLOCKTRANSLATE = re.compile(r"{%\s*blocktrans(?:late)?\b.*?{%\s*endblocktrans(?:late)?\s*%}", re.S)
COMMENT = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", re.S)
TAG_OR_VARIABLE = re.compile(r"{%.*?%}|{{.*?}}", re.S)
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
READ_ATTRIBUTES = re.compile(r"""\b(aria-label|title|placeholder|alt)=("[^"]*"|'[^']*')""")
HTML_TAG = re.compile(r"<[^>]*>", re.S)
ENTITY = re.compile(r"&[a-zA-Z]+;|&#\d+;")
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def page_templates() -> list[Path]:
    found = []
    for directory in TEMPLATE_DIRS:
        for path in sorted(directory.rglob("*.html")):
            if EXCLUDED.isdisjoint(path.relative_to(directory).parts):
                found.append(path)
    return found


def untranslated(source: str) -> list[str]:
    """The visible words of a template left outside the translation tags."""
    text = COMMENT.sub(" ", source)
    text = BLOCKTRANSLATE.sub(" ", text)
    text = SCRIPT_OR_STYLE.sub(" ", text)
    problems = []
    for attribute, value in READ_ATTRIBUTES.findall(text):
        if LETTER.search(TAG_OR_VARIABLE.sub("", value)):
            problems.append(f"{attribute}={value}")
    text = TAG_OR_VARIABLE.sub(" ", text)
    text = HTML_TAG.sub(" ", text)
    text = ENTITY.sub(" ", text)
    problems += [word for word in text.split() if LETTER.search(word)]
    return problems


def test_the_scan_finds_untranslated_text():
    assert untranslated("<p>Hello {{ name }}</p>") == ["Hello"]
    assert untranslated('<nav aria-label="Main">') == ['aria-label="Main"']
    assert untranslated("<p>{% translate 'Hello' %} {{ x|money }} –</p>") == []
    assert untranslated("{% blocktranslate %}Hi {{ n }}{% endblocktranslate %}") == []
    assert untranslated("<svg><title>{{ label }}: USD</title></svg>") == ["USD"]


def test_there_are_page_templates_to_scan():
    names = {path.name for path in page_templates()}
    assert {"base.html", "404.html", "grant_detail.html", "dashboard.html", "hub.html"} <= names


@pytest.mark.parametrize("path", page_templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_visible_string_is_marked_for_translation(path):
    assert untranslated(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", page_templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_page_template_compiles(path):
    """Django's own parser, as a request would run it: a `{% translate %}` without
    `{% load i18n %}` (or any other tag not loaded, any unclosed block) is refused here,
    also for a template no other test renders."""
    engines["django"].from_string(path.read_text(encoding="utf-8"))
