from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """JSON that can be stored: a lone surrogate (``"\\ud800"``) is valid JSON but not
    valid UTF-8, and would fail deep in the database driver; refuse it as a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _refuse_unencodable(data)
        return data


def _refuse_unencodable(value) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError("JSON parse error - a string is not valid Unicode text.") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unencodable(key)
            _refuse_unencodable(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_unencodable(item)
