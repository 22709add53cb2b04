"""Deeply nested JSON is a 400, not a 500 (issue 14, point 4): the API's JSON parser
(``seetf.common.parsers.StrictJSONParser``) refuses nesting deeper than 64 levels, and any
RecursionError, with DRF's ParseError (``{"detail": "JSON parse error - ..."}``), on every
endpoint that takes a body, the token endpoint included; and nothing is written."""

import io
import json

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from seetf.common import parsers
from seetf.common.parsers import MAX_JSON_DEPTH, StrictJSONParser, json_depth
from tests.api_walk import WRITES, concrete, one_of_each, operations, snapshot
from tests.test_api_scoping import api_routes, view_class

# The body: 2 KB, nested 1,000 deep.
DEEP = "[" * 1000 + "]" * 1000
TOO_DEEP = "JSON parse error - nested 1000 levels deep, more than the 64 allowed."
# DRF's ParseError, with the code the project's exception handler adds to every error.
PARSE_ERROR = {"detail": TOO_DEEP, "code": "parse_error"}


def nested(depth: int, inner: str = "1") -> str:
    """An object whose ``name`` is a list nested so that the whole body is ``depth`` deep."""
    return '{"name": ' + "[" * (depth - 1) + inner + "]" * (depth - 1) + "}"


def parse(text: str):
    return StrictJSONParser().parse(io.BytesIO(text.encode()), "application/json", {})


# --- The whole API ------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_writable_operation_and_the_token_endpoint_refuse_deep_json(
    client_for, fund_manager, leader
):
    objects = one_of_each(fund_manager, leader)
    client = client_for(fund_manager)
    walked, wrong = [], []
    for method, path in operations():
        if method not in WRITES:
            continue
        url = concrete(path, objects)
        before = snapshot()
        response = client.generic(method, url, DEEP, content_type="application/json")
        walked.append(f"{method} {path}")
        if response.status_code != 400 or response.json() != PARSE_ERROR:
            wrong.append(f"{method} {url}: {response.status_code} {response.content[:200]!r}")
        elif snapshot() != before:
            wrong.append(f"{method} {url}: wrote something")
    assert wrong == []
    assert "POST /api/v1/auth/token/" in walked
    # The 18 writable endpoints of the audit, in 29 operations (PUT and PATCH apart).
    assert len(walked) >= 29, walked


@pytest.mark.django_db
def test_deep_json_to_the_token_endpoint_logs_no_one_in(anon, fund_manager):
    body = '{"username": "fm", "password": ' + "[" * 500 + '"a-long-test-password"' + "]" * 500
    before = snapshot()
    response = anon.post("/api/v1/auth/token/", body + "}", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - nested 501 levels deep")
    assert snapshot() == before, "no token, no failed-login record"


@pytest.mark.django_db
def test_json_nested_exactly_64_deep_is_parsed_then_validated(client_for, fund_manager):
    client = client_for(fund_manager)
    response = client.post("/api/v1/partners/", nested(64), content_type="application/json")
    assert response.status_code == 400
    assert "detail" not in response.json(), "parsed: the serializer answers, field by field"
    assert "name" in response.json()
    response = client.post("/api/v1/partners/", nested(65), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - nested 65 levels deep, more than the 64 allowed.",
        "code": "parse_error",
    }


@pytest.mark.django_db
def test_a_recursion_error_anywhere_in_parsing_is_a_400(client_for, fund_manager, monkeypatch):
    def recurse(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(parsers.json, "loads", recurse)
    response = client_for(fund_manager).post(
        "/api/v1/partners/", '{"name": "x"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - nested too deep.",
        "code": "parse_error",
    }


def test_every_api_view_parses_json_with_the_projects_parser():
    """DRF's own JSONParser, named by a view (as DRF's ObtainAuthToken does), would
    bring the 500 back on that view."""
    plain = sorted(
        f"/{route} ({view_class(callback).__qualname__})"
        for route, _, callback in api_routes()
        for parser in getattr(view_class(callback), "parser_classes", ())
        if issubclass(parser, JSONParser) and not issubclass(parser, StrictJSONParser)
    )
    assert plain == []


# --- The parser -----------------------------------------------------------------------------


def test_the_limit_is_64_levels():
    assert MAX_JSON_DEPTH == 64
    assert parse(nested(64))["name"] == json.loads(nested(64))["name"]
    with pytest.raises(ParseError, match="nested 65 levels deep"):
        parse(nested(65))


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"title": '[{"' * 1000 + "\\" + '"]}' * 1000, "list": [[["a]"]]]})
    assert json_depth(text) == 4  # the object, then three lists
    assert parse(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "depth"),
    [("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ("[[], [[]], []]", 3), ('"[["', 0)],
)
def test_the_depth_of_a_json_text(text, depth):
    assert json_depth(text) == depth


def test_the_depth_scan_does_not_recurse():
    # A recursive scan would fail near Python's recursion limit (1,000).
    assert json_depth("[" * 1_000_000 + "]" * 1_000_000) == 1_000_000


def test_what_the_parser_refused_before_it_still_refuses():
    with pytest.raises(ParseError, match="not valid Unicode"):
        parse('{"name": "\\ud800"}')
    with pytest.raises(ParseError, match="JSON parse error - "):
        parse('{"name": ')
    with pytest.raises(ParseError, match="JSON parse error - "):
        parse('{"amount": NaN}')  # DRF's STRICT_JSON: no NaN or Infinity
