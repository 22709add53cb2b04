"""The API's JSON parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"], and the token
endpoint's): what it refuses as a 400 (DRF's ParseError, ``{"detail": "..."}``) before any
view sees it."""

import codecs
import re
from itertools import accumulate

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

# No body the API takes nests deeper than a few levels (a completion report's concrete
# results: 3); Python's own parser recurses and fails near 1,000 with a RecursionError.
MAX_JSON_DEPTH = 64

# A JSON string, escapes included (written unrolled: no alternation per character).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class StrictJSONParser(JSONParser):
    """JSON that can be handled and stored:

    - nested at most ``MAX_JSON_DEPTH`` deep (and a RecursionError, wherever in parsing
      it comes from, is a 400 too, never a 500);
    - no lone surrogate (``"\\ud800"``): valid JSON but not valid UTF-8, it would fail deep
      in the database driver.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            # No more opening brackets than the limit: cannot nest beyond it, no scan
            # (nearly every body the API takes).
            if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
                depth = json_depth(text)
                if depth > MAX_JSON_DEPTH:
                    raise ParseError(
                        _(
                            "JSON parse error - nested %(depth)s levels deep, more than the "
                            "%(max_json_depth)s allowed."
                        )
                        % {"depth": depth, "max_json_depth": MAX_JSON_DEPTH}
                    )
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
            _refuse_unencodable(data)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deep.")) from None
        except ValueError as exc:  # as DRF's JSONParser words it
            raise ParseError(_("JSON parse error - %(exc)s") % {"exc": exc}) from None
        return data


def json_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest (``[]`` is 1, ``{"a": [1]}`` 2),
    brackets inside strings not counted. A linear scan, no recursion: strings removed and
    every other character but brackets dropped by regular expressions, then a running sum.
    Text that is not JSON gives some number; the parser refuses it anyway."""
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _refuse_unencodable(value) -> None:
    # Recursive, but over data already known to nest at most MAX_JSON_DEPTH deep.
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(_("JSON parse error - a string is not valid Unicode text.")) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unencodable(key)
            _refuse_unencodable(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_unencodable(item)
