"""The OpenAPI schema's error responses, in one place (``DEFAULT_SCHEMA_CLASS``).

Every operation documents every status code the API can answer it with, so that the
schema is true (the fuzz run, tests/test_api_fuzz.py, checks each response's code, type
and body against it) and an endpoint added later gets them with no work. The codes follow
from what DRF and the project's exception handler (seetf/common/exceptions.py) answer:

- 400 ``{"field": ["message"]}`` (DRF's validation shape; ``non_field_errors`` for the
  body as a whole; a malformed body ``{"detail", "code"}``): every write (its body is
  parsed, even where it reads none) and every operation with query parameters (filters,
  ``page``/``page_size``, ``format``).
- 401 ``{"detail", "code"}``: every operation with an authenticator: no credentials where
  they are needed, and a token that is wrong, expired or revoked anywhere.
- 403: writes under session authentication (no CSRF token), and views whose permissions
  go beyond "signed in" (a role's rule).
- 404: operations with a path parameter (no such object, or one the user may not see:
  never 403), paginated lists (a page past the last), and a ``format`` nobody renders.
- 409 ``{"detail", "code"}``: every write (a business rule, a database constraint, an
  ``Idempotency-Key`` reused with another body).
- 413: every write (a body beyond ``DATA_UPLOAD_MAX_MEMORY_SIZE``, seetf.web.bad_request).
- 415: every write (a body in a type no parser reads).
- 429: views with throttles.

A view's own ``extend_schema(responses=...)`` keeps its description for a code; an error
response documented without a body gets the error body. Per-view extras (a 429 that
django-axes answers, a 204) are declared on the view.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import permissions
from rest_framework.authentication import SessionAuthentication

from .api import ErrorSerializer

WRITES = ("POST", "PUT", "PATCH", "DELETE")
# Permissions that refuse nobody who is signed in.
SIGNED_IN_ONLY = (permissions.AllowAny, permissions.IsAuthenticated)

VALIDATION_ERROR = {
    "type": "object",
    "description": (
        "DRF's validation errors: each field in error with its messages (a nested field's "
        "errors nested alike), `non_field_errors` for the body as a whole. A body that "
        "cannot be parsed: `{detail, code}` (`parse_error`)."
    ),
    "additionalProperties": {},
    "example": {"amount": ["Ensure this value is greater than or equal to 0.01."]},
}

DESCRIPTIONS = {
    "400": "Invalid input: `{field: [messages]}`, each field named (query parameters too).",
    "401": "No credentials, or a token that is wrong, expired or revoked.",
    "403": "Forbidden for this user (`{detail, code}`), or a session write without CSRF token.",
    "404": "Not found, or not visible to this user (never 403); a page past the last.",
    "409": "A business rule or the data already recorded refused it: `{detail, code}`.",
    "413": "The request body is too large (`too_large`).",
    "415": "A request body of a media type the API does not read.",
    "429": "Too many requests: throttled.",
}


class SchemaWithErrors(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            responses.setdefault(code, {"description": DESCRIPTIONS[code]})
        for code, response in responses.items():
            if code >= "400" and "content" not in response:
                response["content"] = self._error_content(code)
                response["description"] = response.get("description") or DESCRIPTIONS.get(code, "")
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation) -> list[str]:
        view = self.view
        parameters = operation.get("parameters", [])
        write = self.method in WRITES
        authenticators = view.get_authenticators()
        codes = []
        if write or any(p["in"] == "query" for p in parameters):
            codes.append("400")
        if authenticators:
            codes.append("401")
        rules = [p for p in view.get_permissions() if not isinstance(p, SIGNED_IN_ONLY)]
        if rules or (write and any(isinstance(a, SessionAuthentication) for a in authenticators)):
            codes.append("403")
        paginated = self._is_list_view() and self._get_paginator() is not None
        if (
            any(p["in"] == "path" for p in parameters)
            or paginated
            or any(p["in"] == "query" and p["name"] == "format" for p in parameters)
        ):
            codes.append("404")
        if write:
            codes += ["409", "413", "415"]
        if view.get_throttles():
            codes.append("429")
        return codes

    def _error_content(self, code: str) -> dict:
        if code == "400":
            component = ResolvedComponent(
                name="ValidationError",
                type=ResolvedComponent.SCHEMA,
                schema=VALIDATION_ERROR,
                object="ValidationError",
            )
            self.registry.register_on_missing(component)
            schema = component.ref
        else:
            schema = self.resolve_serializer(ErrorSerializer, "response").ref
        # In every type the view renders: a report asked for as CSV answers its errors
        # as a CSV too (seetf.common.api.REPORT_RENDERERS).
        return {media_type: {"schema": schema} for media_type in self.map_renderers("media_type")}
