"""Validating IATI 2.03 files without the internet, in three layers:

1. **schema**: the official XSDs (``IATI_SCHEMA_DIR/2.03``) through lxml;
2. **codelist**: each code against the official codelists (``IATI_SCHEMA_DIR/codelists``):
   ``mapping.xml`` says which element or attribute uses which list, under which XPath
   condition (a sector's code is a DAC code only under vocabulary 1...). Every list is
   treated as closed, those IATI marks incomplete (Country, Language...) too: a code not
   on the published list is an error; a withdrawn code is an error too;
3. **ruleset**: the rules of ``IATI_SCHEMA_DIR/rulesets/standard.json``, read generically:
   every rule type that file uses (and the others of its specification) is implemented
   here, its XPaths evaluated by lxml on each context element. Rules the IATI validator
   ties to the IATI Registry (``idCondition``: only for identifiers *not* registered)
   are applied to every identifier, as no registry is reachable offline; the list of
   agency prefixes (``ORG-ID-PREFIX``) is the OrganisationRegistrationAgency codelist.

``validate(path)`` gives every finding (layer, severity, line, rule, message): the
schema and codelist layers' are errors; the ruleset's carry the rule's own severity
(``error`` or ``warning``). A file is valid when it has no error.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.utils import timezone
from lxml import etree

from .conf import schema_dir

SCHEMA, CODELIST, RULESET = "schema", "codelist", "ruleset"
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    layer: str
    severity: str
    line: int | None
    message: str
    rule: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{where}: {self.layer} {self.severity}{rule}: {self.message}"


# --- Layer 1: the XML schema -----------------------------------------------------------------

SCHEMAS = {
    "iati-activities": "iati-activities-schema.xsd",
    "iati-organisations": "iati-organisations-schema.xsd",
}


@functools.cache
def _schema(folder: str, name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(Path(folder) / "2.03" / name)))


def schema_findings(tree: etree._ElementTree) -> list[Finding]:
    root = tree.getroot()
    name = SCHEMAS.get(root.tag)
    if name is None:
        return [
            Finding(
                SCHEMA,
                ERROR,
                root.sourceline,
                f"The root element is <{root.tag}>: an IATI file is <iati-activities> or "
                "<iati-organisations>.",
            )
        ]
    schema = _schema(str(schema_dir()), name)
    if schema.validate(tree):
        return []
    return [Finding(SCHEMA, ERROR, error.line, error.message) for error in schema.error_log]


# --- Layer 2: the codelists ------------------------------------------------------------------


@dataclass
class Codelists:
    """Every official codelist: name -> {code: status} (``active`` or ``withdrawn``)."""

    lists: dict[str, dict[str, str]]
    mappings: list[tuple[str, str, str | None]]  # (path, codelist, condition)

    @classmethod
    def load(cls) -> Codelists:
        return _codelists(str(schema_dir()))

    def active(self, name: str) -> frozenset:
        return frozenset(code for code, status in self.lists[name].items() if status == "active")


@functools.cache
def _codelists(folder: str) -> Codelists:
    base = Path(folder) / "codelists"
    lists = {}
    for path in sorted(base.glob("*.xml")):
        if path.name == "mapping.xml":
            continue
        root = etree.parse(str(path)).getroot()
        lists[root.get("name") or path.stem] = {
            item.findtext("code").strip(): (item.get("status") or "active")
            for item in root.iter("codelist-item")
            if item.findtext("code")
        }
    mappings = []
    for mapping in etree.parse(str(base / "mapping.xml")).getroot().iter("mapping"):
        condition = mapping.findtext("condition")
        mappings.append(
            (
                mapping.findtext("path").strip(),
                mapping.find("codelist").get("ref"),
                condition.strip() if condition else None,
            )
        )
    return Codelists(lists=lists, mappings=mappings)


@functools.cache
def _xpath(expression: str) -> etree.XPath:
    return etree.XPath(expression)


def codelist_findings(tree: etree._ElementTree) -> list[Finding]:
    lists = Codelists.load()
    found = []
    for path, name, condition in lists.mappings:
        codes = lists.lists.get(name)
        if codes is None:
            found.append(Finding(CODELIST, ERROR, None, f"mapping.xml names a missing list {name}"))
            continue
        for value in _xpath(path)(tree):
            owner = value.getparent() if hasattr(value, "getparent") else None
            if condition and owner is not None and not _truthy(_xpath(condition)(owner)):
                continue
            code = str(value).strip()
            status = codes.get(code)
            what = f"{'@' + value.attrname if getattr(value, 'is_attribute', False) else 'text'}"
            tag = owner.tag if owner is not None else path
            line = owner.sourceline if owner is not None else None
            if status is None:
                found.append(
                    Finding(
                        CODELIST,
                        ERROR,
                        line,
                        f"<{tag}> {what}={code!r} is not a code of the {name} codelist.",
                    )
                )
            elif status != "active":
                found.append(
                    Finding(
                        CODELIST,
                        ERROR,
                        line,
                        f"<{tag}> {what}={code!r} is {status} in the {name} codelist.",
                    )
                )
    return found


# --- Layer 3: the ruleset --------------------------------------------------------------------


@functools.cache
def _ruleset(folder: str) -> dict:
    return json.loads((Path(folder) / "rulesets" / "standard.json").read_text(encoding="utf-8"))


def _truthy(result) -> bool:
    if isinstance(result, list):
        return len(result) > 0
    if isinstance(result, float):
        return result != 0 and result == result
    return bool(result)


def _values(element, path: str) -> list[str]:
    result = _xpath(path)(element)
    if not isinstance(result, list):
        return [str(result)]
    return [(item.text or "") if isinstance(item, etree._Element) else str(item) for item in result]


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _datetime(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None


class Rules:
    """Each rule type of the IATI ruleset specification (rulesets/SPEC.rst): a method that
    returns None when the case holds, else what is wrong."""

    def __init__(self, today: date, now: datetime, prefixes: frozenset):
        self.today, self.now, self.prefixes = today, now, prefixes

    def _dates(self, element, path):
        if path == "NOW":
            return [self.today]
        return [d for d in map(_date, _values(element, path)) if d]

    def atleast_one(self, element, case):
        if any(_truthy(_xpath(path)(element)) for path in case["paths"]):
            return None
        return f"none of {case['paths']}"

    def no_more_than_one(self, element, case):
        count = sum(len(_xpath(path)(element)) for path in case["paths"])
        return None if count <= 1 else f"{count} of {case['paths']}"

    def only_one_of(self, element, case):
        excluded = any(_truthy(_xpath(p)(element)) for p in case.get("excluded", []))
        count = sum(len(_xpath(path)(element)) for path in case["paths"])
        if excluded:
            return None if count == 0 else f"{case['paths']} present with {case['excluded']}"
        return None if count == 1 else f"{count} of {case['paths']} (one expected)"

    def dependent(self, element, case):
        present = [_truthy(_xpath(path)(element)) for path in case["paths"]]
        return None if all(present) or not any(present) else f"not all of {case['paths']}"

    def one_or_all(self, element, case):
        if _truthy(_xpath(case["one"])(element)):
            return None
        wanted = case["all"]
        if wanted == "lang":
            missing = _xpath(".//narrative[not(@xml:lang)]")(element)
        elif wanted == "currency":
            missing = _xpath(".//value[not(@currency)]")(element)
        else:
            missing = _xpath(f"transaction[not({wanted})]")(element)
        return None if not missing else f"no {case['one']} and {len(missing)} without {wanted}"

    def _sum(self, element, case, exact: bool):
        values = [v for path in case["paths"] for v in _values(element, path)]
        if not values:
            return None
        numbers = [_decimal(v) for v in values]
        if None in numbers:
            return f"a value that is not a number in {values}"
        total, expected = sum(numbers), Decimal(str(case["sum"]))
        holds = total == expected if exact else abs(total - expected) < Decimal("0.001")
        return None if holds else f"the sum is {total}, not {case['sum']}"

    def sum(self, element, case):
        return self._sum(element, case, exact=False)

    def strict_sum(self, element, case):
        return self._sum(element, case, exact=True)

    def range(self, element, case):
        for path in case["paths"]:
            for text in _values(element, path):
                number = _decimal(text)
                low, high = case.get("min"), case.get("max")
                if number is None:
                    return f"{text!r} is not a number"
                if (low is not None and number < Decimal(str(low))) or (
                    high is not None and number > Decimal(str(high))
                ):
                    return f"{text} is outside {low}-{high}"
        return None

    def date_order(self, element, case):
        less, more = self._dates(element, case["less"]), self._dates(element, case["more"])
        if not less or not more:
            return None
        for before in less:
            for after in more:
                if before > after:
                    return f"{before} is after {after}"
        return None

    def date_now(self, element, case):
        for text in _values(element, case["date"]):
            moment = _datetime(text)
            if moment and moment > self.now:
                return f"{text} is in the future"
        return None

    def time_limit(self, element, case):
        starts, ends = self._dates(element, case["start"]), self._dates(element, case["end"])
        for start in starts:
            for end in ends:
                if end - start > timedelta(days=365):
                    return f"{start} to {end} is longer than a year"
        return None

    def between_dates(self, element, case):
        starts, ends = self._dates(element, case["start"]), self._dates(element, case["end"])
        if not starts or not ends:
            return None
        for day in self._dates(element, case["date"]):
            if not (min(starts) <= day <= max(ends)):
                return f"{day} is outside {min(starts)} to {max(ends)}"
        return None

    def regex_matches(self, element, case):
        pattern = re.compile(case["regex"])
        for path in case["paths"]:
            for text in _values(element, path):
                if not pattern.search(text):
                    return f"{text!r} does not match {case['regex']}"
        return None

    def regex_no_matches(self, element, case):
        pattern = re.compile(case["regex"])
        for path in case["paths"]:
            for text in _values(element, path):
                if pattern.search(text):
                    return f"{text!r} matches {case['regex']}"
        return None

    def startswith(self, element, case):
        prefixes = set()
        for path in case["prefix"]:
            if path == "ORG-ID-PREFIX":
                prefixes |= self.prefixes
            else:
                prefixes |= set(_values(element, path))
        separator = case.get("separator", "")
        if not prefixes:
            return None
        for path in case["paths"]:
            for text in _values(element, path):
                if not any(text.startswith(p + separator) for p in prefixes):
                    return f"{text!r} does not start with one of {sorted(prefixes)[:5]}"
        return None

    def unique(self, element, case):
        values = [v.strip() for path in case["paths"] for v in _values(element, path)]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        return None if not duplicates else f"{duplicates} repeated"

    def if_then(self, element, case):
        if not _truthy(_xpath(case["if"])(element)):
            return None
        return None if _truthy(_xpath(case["then"])(element)) else f"{case['then']} is false"

    def no_spaces(self, element, case):
        for path in case["paths"]:
            for text in _values(element, path):
                if text != text.strip():
                    return f"{text!r} starts or ends with a space"
        return None


class Ruleset:
    def __init__(self, rules: dict, today: date, now: datetime, prefixes: frozenset):
        self.rules = rules
        self.check = Rules(today, now, prefixes)

    def findings(self, tree) -> list[Finding]:
        found = []
        for context, named in self.rules.items():
            for element in _xpath(context)(tree):
                if not isinstance(element, etree._Element):
                    continue
                for name, body in named.items():
                    for case in body.get("cases", []):
                        found += self._case(element, name, case)
        return found

    def _case(self, element, name, case) -> list[Finding]:
        if name == "loop":
            out = []
            for value in dict.fromkeys(_values(element, case["foreach"])):
                for inner_name, inner in case["do"].items():
                    for inner_case in inner.get("cases", []):
                        substituted = dict(inner_case)
                        for key in case.get("subs", []):
                            if key in substituted:
                                substituted[key] = _substitute(substituted[key], value)
                        out += self._case(element, inner_name, substituted)
            return out
        condition = case.get("condition")
        if condition and not _truthy(_xpath(condition)(element)):
            return []
        method = getattr(self.check, name, None)
        info = case.get("ruleInfo", {})
        if method is None:
            return [Finding(RULESET, ERROR, element.sourceline, f"unknown rule type {name}")]
        try:
            wrong = method(element, case)
        except etree.XPathError as error:
            wrong = f"the rule's XPath failed: {error}"
        if wrong is None:
            return []
        message = info.get("message", name)
        return [
            Finding(
                RULESET,
                info.get("severity", ERROR),
                element.sourceline,
                f"<{element.tag}> {message} ({wrong})",
                info.get("id", name),
            )
        ]


def _substitute(value, replacement: str):
    if isinstance(value, list):
        return [_substitute(v, replacement) for v in value]
    return value.replace("$1", replacement) if isinstance(value, str) else value


def ruleset_findings(tree, *, today: date | None = None, now: datetime | None = None):
    folder = str(schema_dir())
    lists = _codelists(folder)
    prefixes = frozenset(lists.lists.get("OrganisationRegistrationAgency", {}))
    ruleset = Ruleset(
        _ruleset(folder),
        today or timezone.localdate(),
        now or timezone.now(),
        prefixes,
    )
    return ruleset.findings(tree)


# --- All three -------------------------------------------------------------------------------


def parse(source) -> etree._ElementTree:
    """A file's tree with its line numbers (huge files allowed; no network, no DTDs)."""
    parser = etree.XMLParser(
        huge_tree=True, resolve_entities=False, no_network=True, remove_blank_text=False
    )
    return etree.parse(source, parser)


def validate(source, *, today: date | None = None, now: datetime | None = None) -> list[Finding]:
    """Every finding of the three layers for a file (a path or a file object)."""
    schema_dir()  # says what is missing before anything else
    try:
        tree = parse(source)
    except etree.XMLSyntaxError as error:
        return [Finding(SCHEMA, ERROR, error.lineno, f"not well-formed XML: {error.msg}")]
    found = schema_findings(tree)
    found += codelist_findings(tree)
    found += ruleset_findings(tree, today=today, now=now)
    return found


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == ERROR]
