"""Property-based fuzzing of the whole API against its own OpenAPI schema (schemathesis).

Every operation of `/api/schema/` is called in-process through the WSGI application (no
server, no network) with requests that schemathesis generates from the schema, valid ones
and malformed ones, as a user who holds all three roles, over the 2011 review's demo data.
No response may be a 5xx ("no request, however malformed, gets a 500"); each must have a
documented content type and match the schema documented for its status code.

The operations run one after another against one database, as against a live server: the
creating POSTs first, then the rest, so that what they create is there for the others
(a draft and a submitted grant are made up front: generated grant bodies seldom name a
sector and countries that exist). Random ids would nearly always answer 404, so most
valid requests use the id of an object that exists, read from the API's own lists. Each
operation is a subtest, reported under its label ("GET /api/v1/fund/").

Schemathesis's phases: for each operation the coverage phase (its deterministic cases:
each boundary, each missing or wrong-typed field) and the fuzzing phase (valid and
malformed requests drawn by Hypothesis); then the stateful phase, scenarios of chained
calls along the links schemathesis infers from the schema (a created object's id fed to
the operations on it). The examples phase has nothing to run (the schema's requests have
no examples). Each response is checked: no 5xx, a documented status code, content type
and headers, a body that matches the schema.

Bounded so the file runs in a couple of minutes: a fixed number of examples per
operation, derandomized (the same requests on every run, so a failure reproduces), no
deadline (the first request of an operation may be slow on a cold database). The bounds
are environment variables (README "Tests"); `make fuzz` raises them.

Why not schemathesis's own pytest integration: with pytest 9.2, `schemathesis.pytest.
from_fixture` crashes (it sets `Function._nodeid`, which pytest 9.2 removed) and
`schema.parametrize()` gives every operation the same node id, so a failure's summary line
cannot say which operation failed; and one test item per operation would empty and
refill the database for each (two seconds an operation on PostgreSQL). Instead, each
operation's Hypothesis strategy (`APIOperation.as_strategy`, schemathesis's documented API
for plain Hypothesis tests) runs in a pytest subtest.

The schema is loaded when the module is imported. Loading it reads no database
(pytest-django would refuse at collection, loudly).
"""

import os
from io import StringIO

import pytest
import schemathesis
from django.apps import apps
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from partners.models import Partner, Sector
from partners.roles import Role
from partners.services import user_create_or_update
from tests.conftest import second_factor_given

SCHEMA_PATH = "/api/schema/"
REVOKE = "POST /api/v1/auth/token/revoke/"
# Per operation, valid and malformed requests together (Hypothesis picks about half each).
# SEETF_FUZZ_EXAMPLES=500 for a deeper run by hand; CI keeps the default.
EXAMPLES_PER_OPERATION = int(os.environ.get("SEETF_FUZZ_EXAMPLES", "24"))
# The coverage phase's cases (boundaries, each missing or wrong-typed field, ...), about
# 5,600 over the whole API: an even spread of at most this many per operation in `make
# test`; every one with SEETF_FUZZ_COVERAGE=0 (`make fuzz`).
COVERAGE_PER_OPERATION = int(os.environ.get("SEETF_FUZZ_COVERAGE", "10"))
# The stateful phase: scenarios of chained calls (a created object's id fed to the
# operations that take it, along the links schemathesis infers from the schema).
STATEFUL_SCENARIOS = int(os.environ.get("SEETF_FUZZ_SCENARIOS", "25"))
STATEFUL_STEPS = int(os.environ.get("SEETF_FUZZ_STEPS", "8"))
STATEFUL_RUNS = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# How many existing objects (and combinations of nested ones) an operation may pick from.
KNOWN_IDS_PER_PARAMETER = 5

schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, WSGIHandler())


def _run_order(label: str) -> tuple:
    """Creating POSTs (on a collection, no path parameter) first; then by path and method."""
    method, path = label.split(" ", 1)
    return (not (method == "POST" and "{" not in path), path, method)


# An operation schemathesis cannot use (an Err) stays in the list under its label, so that
# its subtest fails with the reason instead of the operation going untested unnoticed.
OPERATIONS = {}
for _result in schema.get_all_operations():
    _item = _result.ok() if isinstance(_result, Ok) else _result.err()
    OPERATIONS[_item.label or repr(_item)] = _item
OPERATIONS = dict(sorted(OPERATIONS.items(), key=lambda pair: _run_order(pair[0])))


@pytest.fixture
def _ids_from_the_rows():
    """Each table's id sequence set back to its highest row (``sqlsequencereset``), before
    the fuzz run makes its data: PostgreSQL's sequences only move on, and keep what every
    earlier test of the session took (a rollback or a TRUNCATE gives nothing back), so
    without this the derandomized examples would meet other ids in a full run than in
    this file alone (the chained scenarios once linked no call for it)."""
    if connection.vendor != "postgresql":
        return
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@pytest.fixture
def _draws_independent_of_the_imports(monkeypatch):
    """Hypothesis draws, now and then, a "local constant": a literal found in the source
    of every non-test module under the working directory that is in ``sys.modules`` at
    that moment (``hypothesis.internal.conjecture.providers._get_local_constants``). A
    full run has imported far more of them than this file alone, so the same seed drew
    other requests: the derandomized examples and scenarios were not the same in both
    (the chained scenarios linked calls alone and none after the whole suite). The pool
    is left empty for the fuzz run; its cache, filled by earlier Hypothesis tests, is
    emptied before and after. A rename inside Hypothesis fails here, loudly."""
    from hypothesis.internal.conjecture import providers

    monkeypatch.setattr(providers, "_get_local_constants", lambda: providers.Constants())
    providers.CONSTANTS_CACHE.cache.clear()
    yield
    providers.CONSTANTS_CACHE.cache.clear()


@pytest.fixture
def all_roles_token(_ids_from_the_rows, _draws_independent_of_the_imports):
    """The review's demo data, and the token of a user holding every role (a donor of the
    first partner)."""
    call_command("load_review_2011", stdout=StringIO())
    partner = Partner.objects.order_by("code").first()
    assert partner is not None, "load_review_2011 loaded no partners"
    user = user_create_or_update(
        username="fuzzer",
        roles=[Role.FUND_MANAGER, Role.TASK_TEAM_LEADER, Role.DONOR],
        partner=partner,
        email="fuzzer@example.org",
        password="a-long-fuzzing-password",
    )
    return Token.objects.create(user=user).key


@pytest.fixture
def grants_to_act_on(all_roles_token):
    """A draft and a submitted grant of the fuzzing user, made through the API as API.md
    describes it: generated bodies seldom name a sector and countries that exist, so
    without these the grant actions would only ever see the review's completed grants."""
    client = Client(headers={"Authorization": f"Token {all_roles_token}"})
    body = {
        "title": "Peer learning on rural electrification",
        "summary": "A study tour and a workshop between two utilities.",
        "sector": Sector.objects.order_by("code").first().code,
        "region": "LCR",
        "recipient_countries": ["HTI"],
        "provider_countries": ["BRA"],
        "requested_usd": "150000.00",
        "development_goal": "More rural households connected to the grid.",
        "targeted_outcomes": ["enhanced_knowledge_and_skills"],
        "planned_start": "2026-01-01",
        "planned_end": "2026-12-31",
    }
    grants = []
    for _ in range(2):
        response = client.post("/api/v1/grants/", body, content_type="application/json")
        assert response.status_code == 201, response.content
        grants.append(response.json()["id"])
    response = client.post(f"/api/v1/grants/{grants[1]}/submit/")
    assert response.status_code == 200, response.content
    return grants


@pytest.fixture
def brokering_to_act_on(all_roles_token):
    """A published offer and an open request of the fuzzing user, made through the API:
    generated bodies seldom name languages and sectors that exist."""
    client = Client(headers={"Authorization": f"Token {all_roles_token}"})
    sector = Sector.objects.order_by("code").first().code
    offer = client.post(
        "/api/v1/offers/",
        {
            "title": "Rural electrification: what worked in Brazil",
            "description": "Luz para Todos connected *millions* of households.",
            "provider_country": "BRA",
            "institution": "Eletrobras",
            "sectors": [sector],
            "instruments": ["study_tour"],
            "languages": ["pt", "en"],
            "capacity_per_year": 50,
            "contact_name": "Maria Silva",
            "contact_email": "maria@example.org",
        },
        content_type="application/json",
    )
    assert offer.status_code == 201, offer.content
    published = client.post(f"/api/v1/offers/{offer.json()['id']}/publish/")
    assert published.status_code == 200, published.content
    request = client.post(
        "/api/v1/requests/",
        {
            "title": "Rural electrification for Haiti",
            "description": "Haiti wants to connect rural households.",
            "recipient_country": "HTI",
            "sectors": [sector],
            "instruments": ["study_tour"],
            "languages": ["fr", "en"],
            "needed_by": "2099-12-31",
        },
        content_type="application/json",
    )
    assert request.status_code == 201, request.content


@pytest.fixture
def wsgi_connection_kept():
    """Django's own test client does the same: the end of a request must not close the
    connection that the test and the next request share."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def known_path_parameters(path: str, client: Client) -> list[dict]:
    """Combinations of path parameters naming objects that exist, read from the list one
    level up (`/api/v1/grants/` for the `{id}` of `/api/v1/grants/{id}/submit/`, and so on
    for nested lists). `{id}` and `{..._pk}` take an object's `id`; others (`{code}`) the
    field of that name."""
    combinations: list[dict] = [{}]
    segments = path.strip("/").split("/")
    for position, segment in enumerate(segments):
        if not (segment.startswith("{") and segment.endswith("}")):
            continue
        name = segment[1:-1]
        field = "id" if name == "id" or name.endswith("pk") else name
        extended = []
        for known in combinations[:KNOWN_IDS_PER_PARAMETER]:
            listing = "/" + "/".join(segments[:position]).format(**known) + "/"
            response = client.get(listing, {"page_size": KNOWN_IDS_PER_PARAMETER})
            if response.status_code != 200 or "json" not in response.get("Content-Type", ""):
                continue
            body = response.json()
            rows = body.get("results", []) if isinstance(body, dict) else body
            values = [row[field] for row in rows if isinstance(row, dict) and field in row]
            extended += [{**known, name: value} for value in values[:KNOWN_IDS_PER_PARAMETER]]
        combinations = extended
    return combinations


def fuzz_operation(operation, headers, known: list[dict]) -> dict:
    """Run the operation's Hypothesis test; return how many requests of each mode it made.
    ``headers`` is a dict, or a function giving each request's (the revoke endpoint's)."""
    made = {mode: 0 for mode in GenerationMode}
    # For an operation without path parameters `known` is [{}]: nothing to choose.
    use_known = st.sampled_from([None, *known]) if any(known) else st.none()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        ),
        existing=use_known,
    )
    def call_and_check(case, existing):
        mode = case.meta.generation.mode if case.meta else GenerationMode.POSITIVE
        if existing is not None and mode is GenerationMode.POSITIVE:
            case.path_parameters.update(existing)
        made[mode] += 1
        case.call_and_validate(headers=headers() if callable(headers) else headers, checks=CHECKS)

    try:
        call_and_check()
        for case in coverage_cases(operation):
            made[case.meta.generation.mode if case.meta else GenerationMode.POSITIVE] += 1
            case.call_and_validate(
                headers=headers() if callable(headers) else headers, checks=CHECKS
            )
    except FailureGroup as failures:
        # Said again with the label first, so that the summary line names the operation. The
        # message has the request that reproduces it; the log below, the server's traceback.
        raise AssertionError(f"{operation.label}: {failures}") from None
    except BaseExceptionGroup as failures:  # several distinct ones: each told in the chain
        raise AssertionError(f"{operation.label}: {failures}") from failures
    return made


def coverage_cases(operation) -> list:
    """The coverage phase's cases of the operation (deterministic: no randomness), all of
    them or an even spread of COVERAGE_PER_OPERATION."""
    generator = CoverageGenerator(
        operation=operation,
        generation_modes=list(GenerationMode),
        generation_config=schema.config.generation_for(operation=operation, phase="coverage"),
        auth_storage=None,
        override=Override(),
        feedback=FeedbackSources(),
    )
    cases = list(generator)
    if COVERAGE_PER_OPERATION <= 0 or len(cases) <= COVERAGE_PER_OPERATION:
        return cases
    step = len(cases) / COVERAGE_PER_OPERATION
    return [cases[int(index * step)] for index in range(COVERAGE_PER_OPERATION)]


def test_the_schema_lists_the_api():
    """The fuzz test runs every operation of the schema: make sure they are not zero, and
    that the contract's core endpoints are among them."""
    assert len(OPERATIONS) > 0
    for label in [
        "POST /api/v1/auth/token/",
        REVOKE,
        "GET /api/v1/countries/",
        "GET /api/v1/partners/",
        "POST /api/v1/contributions/",
        "POST /api/v1/contributions/{contribution_pk}/receipts/",
        "GET /api/v1/fund/",
        "GET /api/v1/reports/contributions/",
    ]:
        assert label in OPERATIONS


@pytest.mark.django_db
def test_an_id_beyond_64_bits_in_a_filter_is_a_400(client):
    """Found by this fuzzer: SQLite cannot hold the number, and the OverflowError used
    to be a 500 (seetf/common/exceptions.py now answers 400)."""
    user = user_create_or_update(username="reader", roles=[Role.FUND_MANAGER])
    client.force_login(user)
    second_factor_given(client, user)
    response = client.get("/api/v1/reports/contributions/", {"partner": "9" * 25})
    assert response.status_code == 400
    assert response.json()


# transaction=True: the application commits for real, as it does in production (a request
# that fails a constraint leaves no aborted outer transaction behind for the next one, and
# on_commit work runs). The countries, sectors and role groups the
# migrations load are put back by tests/conftest.py after another transactional test.
@pytest.mark.fuzz
@pytest.mark.django_db(transaction=True)
def test_api_conforms_to_its_schema(
    subtests, all_roles_token, grants_to_act_on, brokering_to_act_on, wsgi_connection_kept
):
    assert OPERATIONS, "the schema has no operations: nothing would be fuzzed"
    headers = {"Authorization": f"Token {all_roles_token}"}
    lister = Client(headers=headers)
    revoker = user_create_or_update(username="revoker", roles=[Role.TASK_TEAM_LEADER])

    def revoker_headers():
        return {"Authorization": f"Token {Token.objects.get_or_create(user=revoker)[0].key}"}

    for label, operation in OPERATIONS.items():
        with subtests.test(msg=label):
            if not isinstance(operation, schemathesis.APIOperation):
                raise operation  # the schema error, as this operation's failure
            if label == REVOKE:
                # Revoking the fuzzing user's token would leave every later operation a
                # 401: another user's token, a fresh one for each request.
                made = fuzz_operation(operation, revoker_headers, [{}])
            else:
                made = fuzz_operation(
                    operation, headers, known_path_parameters(operation.path, lister)
                )
            assert made[GenerationMode.POSITIVE] > 0, "no valid request was generated"


# The stateful phase. The revoke endpoint is left out: it would end the token every later
# step uses (the operation's own test above gives it a fresh token for each request).
stateful_schema = schema.exclude(path="/api/v1/auth/token/revoke/")


@pytest.mark.fuzz
@pytest.mark.django_db(transaction=True)
def test_chained_calls_conform_to_the_schema(
    all_roles_token, grants_to_act_on, wsgi_connection_kept
):
    """Schemathesis's stateful phase: scenarios of up to STATEFUL_STEPS calls, each one's
    response feeding the next along the links schemathesis infers from the schema (the
    `id` a POST answers, to the operations on `/{id}/`); every response checked as in the
    test above. Derandomized: the same scenarios on every run."""
    headers = {"Authorization": f"Token {all_roles_token}"}
    base = stateful_schema.as_state_machine()
    assert base._transitions.operations, "schemathesis inferred no links to follow"
    links = sum(len(entry.outgoing) for entry in base._transitions.operations.values())
    assert links > 10, f"only {links} links between operations"

    steps = {"scenarios": 0, "calls": 0, "linked": 0}

    class Workflow(base):
        def setup(self):
            steps["scenarios"] += 1

        def step(self, input):
            steps["calls"] += 1
            steps["linked"] += input.is_applied and input.transition is not None
            return super().step(input)

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    # Run again (up to STATEFUL_RUNS times) while the scenarios asked for are not done: a
    # run ends early when the server's state moved on under Hypothesis's feet (a
    # scenario's first steps, replayed against a database that earlier scenarios changed,
    # answered otherwise, so the same choices led elsewhere: FlakyStrategyDefinition). No
    # check failed then: a failure, even one that did not reproduce, is a FailureGroup or
    # a FlakyFailure, and fails the test. Schemathesis's own runner does the same.
    for _ in range(STATEFUL_RUNS):
        remaining = STATEFUL_SCENARIOS - steps["scenarios"]
        if remaining <= 0:
            break
        try:
            Workflow.run(
                settings=settings(
                    max_examples=remaining,
                    stateful_step_count=STATEFUL_STEPS,
                    derandomize=True,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
            )
        except FailureGroup as failures:
            raise AssertionError(f"stateful: {failures}") from None
        except FlakyStrategyDefinition:
            continue
    # Some calls took a value from an earlier response: the draws no longer depend on what
    # the session imported (the fixture above), so alone and in the whole suite the same
    # scenarios link the same calls (3 of 167 in both, README "Tests").
    print("stateful:", steps)
    assert steps["scenarios"] >= STATEFUL_SCENARIOS / 2, steps
    assert steps["linked"] > 0, f"no call took a value from an earlier response: {steps}"
