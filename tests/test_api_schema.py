"""The schema made true (issue 14, point 8): it documents every status code the API can
answer (seetf/common/schema.py adds the error responses to every operation, so an
endpoint added later gets them too), with the error bodies; the timestamps that can be
null say so; `page` and `page_size` are checked (a 400 naming the parameter) and
documented with their bounds. The fuzz run (tests/test_api_fuzz.py) checks every
response against the schema; these tests pin the findings one by one."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from grants.models import GrantStatus
from tests.api_walk import operations
from tests.factories import fund_with
from tests.grants.factories import REPORT, make_grant
from tests.test_api_fuzz import schema as fuzz_schema
from tests.test_api_fuzz import wsgi_connection_kept  # noqa: F401 - a fixture

WRITES = ("POST", "PUT", "PATCH", "DELETE")
ERROR = "#/components/schemas/Error"
VALIDATION_ERROR = "#/components/schemas/ValidationError"


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(openapi):
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, operation


def test_every_operation_documents_the_errors_it_can_answer(openapi):
    missing = []
    for method, path, operation in _operations(openapi):
        codes = set(operation["responses"])
        parameters = operation.get("parameters", [])
        expected = {"401"}
        if method in WRITES:
            expected |= {"400", "403", "409", "413", "415"}
        if any(p["in"] == "query" for p in parameters):
            expected.add("400")
        if any(p["in"] == "path" for p in parameters):
            expected.add("404")
        if any(p["in"] == "query" and p["name"] == "page" for p in parameters):
            expected.add("404")  # a page past the last
        if path == "/api/v1/auth/token/":
            expected |= {"429"}
        if expected - codes:
            missing.append(f"{method} {path}: {sorted(expected - codes)}")
    assert missing == []
    assert len(list(_operations(openapi))) == len(operations())


def test_every_error_response_has_the_error_body(openapi):
    wrong = []
    for method, path, operation in _operations(openapi):
        for code, response in operation["responses"].items():
            if code < "400":
                continue
            content = response.get("content", {})
            refs = {media.get("schema", {}).get("$ref") for media in content.values()}
            allowed = {ERROR, VALIDATION_ERROR} if code == "400" else {ERROR}
            if not content or not refs <= allowed or not response.get("description"):
                wrong.append(f"{method} {path} {code}: {refs}")
    assert wrong == []
    validation = openapi["components"]["schemas"]["ValidationError"]
    assert validation["type"] == "object" and validation["additionalProperties"] == {}
    assert set(openapi["components"]["schemas"]["Error"]["required"]) == {"detail", "code"}


def test_a_report_asked_for_as_csv_documents_its_errors_as_csv_too(openapi):
    responses = openapi["paths"]["/api/v1/reports/contributions/"]["get"]["responses"]
    for code in ("200", "400", "401", "403"):
        assert "text/csv" in responses[code]["content"], code


@pytest.mark.django_db
def test_a_body_beyond_the_upload_limit_is_a_413_with_the_error_body(client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"name": "' + "x" * 20_000 + '"}'
    response = client_for("fund_manager").post(
        "/api/v1/partners/", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large.", "code": "too_large"}


def test_an_unknown_api_route_answers_the_error_body(client):
    response = client.get("/api/v1/no-such-route/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


# --- Nullable timestamps ----------------------------------------------------------------------


def test_the_completion_reports_timestamps_are_documented_nullable(openapi):
    report = openapi["components"]["schemas"]["CompletionReport"]["properties"]
    assert report["submitted_at"].get("nullable") is True
    assert report["accepted_at"].get("nullable") is True


@pytest.mark.django_db
def test_a_report_not_yet_submitted_conforms_to_the_schema(
    leader,
    fund_manager,
    wsgi_connection_kept,  # noqa: F811
):
    """Found by the fuzz run: `submitted_at` and `accepted_at` are null until then, where
    the schema said a date-time."""
    fund_with("1000000.00")
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    token = Token.objects.create(user=leader)
    operation = fuzz_schema["/api/v1/grants/{grant_pk}/completion-report/"]["PUT"]
    case = operation.Case(
        path_parameters={"grant_pk": grant.pk},
        headers={"Authorization": f"Token {token.key}"},
        body=REPORT,
        media_type="application/json",
    )
    response = case.call()
    assert response.status_code == 200, response.text
    assert response.json()["submitted_at"] is None
    assert response.json()["accepted_at"] is None
    operation.validate_response(response)  # raises on a mismatch


# --- page and page_size ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/countries/", "/api/v1/grants/"])
@pytest.mark.parametrize(
    "query, field",
    [
        ({"page_size": "abc"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "-1"}, "page_size"),
        ({"page_size": "501"}, "page_size"),
        ({"page_size": "2.5"}, "page_size"),
        ({"page_size": ""}, "page_size"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "-3"}, "page"),
        ({"page": "last"}, "page"),
        ({"page": "1e3"}, "page"),
    ],
)
def test_a_page_or_page_size_that_is_not_a_whole_number_in_range_is_a_400(
    client_for, path, query, field
):
    response = client_for("fund_manager").get(path, query)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


@pytest.mark.django_db
def test_the_page_size_bounds_are_honoured(client_for):
    client = client_for("fund_manager")
    assert len(client.get("/api/v1/countries/", {"page_size": "1"}).json()["results"]) == 1
    response = client.get("/api/v1/countries/", {"page_size": "500"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(500, response.json()["count"])
    # Without page_size, 50.
    assert len(client.get("/api/v1/countries/").json()["results"]) == 50
    # The grant list's cursor mode takes the same page_size, checked alike.
    assert client.get("/api/v1/grants/", {"cursor": "", "page_size": "0"}).status_code == 400


@pytest.mark.django_db
def test_a_page_past_the_last_is_a_404_and_the_first_page_of_nothing_is_empty(client_for):
    client = client_for("fund_manager")
    response = client.get("/api/v1/countries/", {"page": "100000"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    empty = client.get("/api/v1/grants/", {"page": "1"})
    assert empty.status_code == 200 and empty.json()["results"] == []
    assert client.get("/api/v1/grants/", {"page": "2"}).status_code == 404


def test_page_and_page_size_are_documented_with_their_bounds(openapi):
    for _method, path, operation in _operations(openapi):
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        if "page_size" not in parameters:
            continue
        assert parameters["page_size"]["schema"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": 500,
            "default": 50,
        }, path
        assert parameters["page"]["schema"] == {"type": "integer", "minimum": 1}, path
        assert "404" in operation["responses"], path
