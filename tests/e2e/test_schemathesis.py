"""Schemathesis against the case-management API's OpenAPI document, with the app serving on a real port.

Every operation in /api/v1/openapi.json gets valid and invalid requests (bodies, parameters, headers). Into
what is generated go, now and then, the ids of records that exist (so that requests reach stored data and
get past the reference checks), awkward strings and integers at the edges of the database's columns. No
response may be a 5xx and every 4xx is a FHIR OperationOutcome; Schemathesis's default checks hold too: a
2xx body fits the document, the status and the content type are documented, invalid data is refused, valid
parameters are accepted, a request without the token is refused. And the document says what the server takes:
a request it allows is refused only with issues of a kind no JSON Schema can state (`not-found`,
`business-rule`), never `invalid`. Both databases: the `app` fixture is
parametrized through `database_url`.

schemathesis.pytest.from_fixture() would be the usual way to reach a server that only a fixture starts, but
schemathesis 4.32.5 sets `Function._nodeid`, which pytest 9 no longer has; so the test drives Hypothesis
itself, one run per operation and generation mode, and reports every operation that failed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.control import SkipTest
from schemathesis.core.result import Err
from werkzeug.serving import make_server

from tests.conftest import ROOT

CASE = json.loads((ROOT / "fixtures" / "cases" / "discharge-kim.json").read_text(encoding="utf-8"))
# The records of the case file, in an order in which each one's references already exist.
SEEDED = {
    "clients": [CASE["client"]],
    "episodes": CASE["episodes"],
    "service-plans": CASE["service_plans"],
    "assessments": CASE["assessments"],
    "referrals": CASE["referrals"],
}
PLAN, GOAL = CASE["service_plans"][0]["id"], CASE["service_plans"][0]["goals"][0]["id"]
# Strings that have broken web services before, mixed into every generated string now and then: NUL
# (PostgreSQL refuses it in text), CR LF (header injection), a lone high code point, a bidi override,
# percent and path tricks, SQL.
AWKWARD = ["\x00", "a\x00b", "a\r\nb", "\ud7ff", "\u202e", "%00", "%2F..%2F", "../", "' OR 1=1 --", " ", "🙂"]
# Integers at the edges of the columns they end up in: 32-bit on PostgreSQL, 64-bit on SQLite.
EDGES = ["0", "2147483647", "2147483648", "9223372036854775807", "9223372036854775808"]
# An id for a new record that the Location header of the 201 has to carry.
NEW_IDS = ["R\r\n1"]
# Schemathesis's expected statuses (schemathesis/config/_checks.py), each with the one this API adds.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx", "413"]
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx", "422"]


def _config() -> schemathesis.Config:
    """Which values to mix in, and what the checks expect of this API."""
    # Each kind's dictionary: the ids that exist, and one with a NUL, which no text column should meet raw.
    ids = {c: {"values": [r["id"] for r in records] + ["\x00"]} for c, records in SEEDED.items()}
    return schemathesis.Config.from_dict(
        {
            "dictionaries": {
                **ids,
                "plan": {"values": [PLAN]},
                "goal": {"values": [GOAL]},
                "awkward": {"values": AWKWARD},
                "edges": {"values": EDGES},
                "new": {"values": NEW_IDS},
            },
            "generation": {
                "dictionaries": {
                    "string": {"dictionary": "awkward", "probability": 0.1},
                    "integer": {"dictionary": "edges", "probability": 0.2},
                },
                # The session sends the token; requests without it are the `ignored_auth` check's business.
                "with-security-parameters": False,
            },
            "parameters": {
                "query.client_id": {"dictionary": "clients", "probability": 0.5},
                "body.client_id": {"dictionary": "clients", "probability": 0.6},
                "body.episode_id": {"dictionary": "episodes", "probability": 0.6},
                "body.reason.plan_id": {"dictionary": "plan", "probability": 0.6},
                "body.reason.goal_id": {"dictionary": "goal", "probability": 0.6},
            },
            "checks": {
                # 413 (a body over 1 MiB, documented) refuses invalid data as well as any other 4xx.
                "negative_data_rejection": {"expected-statuses": REJECTED},
            },
            "operations": [
                *(
                    {
                        "include-path-regex": f"^/{collection}/",
                        "parameters": {
                            "path.record_id": {"dictionary": collection, "probability": 0.5},
                            "body.id": {"dictionary": collection, "probability": 0.5},
                        },
                    }
                    for collection in SEEDED
                ),
                {
                    "include-method": ["POST"],
                    "include-path-regex": "^/[a-z-]+$",
                    "parameters": {"body.id": {"dictionary": "new", "probability": 0.3}},
                },
                {
                    # A body can fit the document and still break a rule JSON Schema does not state: it names
                    # a record that does not exist, its id is not the URL's, an answer is not one of its
                    # questionnaire's, a referral's lifecycle. The 422 names the field; parameters have no
                    # such rules, so their operations keep the default.
                    "include-method": ["POST", "PUT"],
                    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
                },
            ],
        }
    )


EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same requests on every run, in CI too
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Api:
    schema: schemathesis.BaseSchema
    session: requests.Session


@pytest.fixture(scope="module")
def live_url(app: Any) -> Iterator[str]:
    """The app on a free port of 127.0.0.1, served by werkzeug in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def api(live_url: str, new_org: Any) -> Iterator[Api]:
    """The document as the running server gives it, and a session of a fresh organisation that holds the
    records of discharge-kim.json."""
    with requests.Session() as session:
        session.headers.update(new_org())
        for collection, records in SEEDED.items():
            for record in records:
                created = session.post(f"{live_url}/api/v1/{collection}", json=record, timeout=10)
                assert created.status_code == 201, created.text
        loaded = schemathesis.openapi.from_url(
            f"{live_url}/api/v1/openapi.json", config=_config(), timeout=10
        )
        loaded.config.update(base_url=f"{live_url}/api/v1")
        yield Api(loaded, session)


def operation_outcome(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """A 4xx carries a FHIR OperationOutcome with at least one issue."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except ValueError as err:
        raise AssertionError(f"a {response.status_code} that is not JSON: {response.text[:300]!r}") from err
    assert isinstance(body, dict), f"a {response.status_code} that is not an object: {body!r}"
    assert body.get("resourceType") == "OperationOutcome", f"not an OperationOutcome: {body!r}"
    assert isinstance(body.get("issue"), list), f"an OperationOutcome without issues: {body!r}"
    assert body["issue"], f"an OperationOutcome without issues: {body!r}"
    return None


# What a 4xx to a request that fits the document may say: the record or EHR it names does not exist, or it
# breaks a rule no JSON Schema can state (an order of dates, ids unique within a list, a lifecycle, the
# questions of a questionnaire). Any other issue (invalid, structure, value, ...) is a rule the document
# should have stated, and is a failure.
BEYOND_THE_DOCUMENT = {"not-found", "business-rule", "conflict", "duplicate"}


def schema_says_what_server_takes(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """A request the document allows is refused only for a reason the document cannot state."""
    if response.status_code not in (400, 422):
        return None
    issues = response.json().get("issue", [])
    shape = [i for i in issues if i.get("code") not in BEYOND_THE_DOCUMENT]
    assert not shape, f"the document allows what the server refuses ({response.status_code}): {shape}"
    return None


def fuzz(api: Api, operation: schemathesis.APIOperation[Any, Any, Any, Any], mode: GenerationMode) -> None:
    """One Hypothesis run of `mode` requests against `operation`."""
    # With the one mode configured, Schemathesis skips (rather than rejects case after case) an operation
    # that has nothing to make invalid, such as a read whose only input is a string in the path.
    api.schema.config.generation.update(modes=[mode])
    checks = [operation_outcome]
    if mode is GenerationMode.POSITIVE:
        checks.append(schema_says_what_server_takes)

    @EXAMPLES
    @given(case=operation.as_strategy(mode))
    def run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(session=api.session, additional_checks=checks, timeout=30)

    run()


def shorten(message: str, width: int = 600) -> str:
    """Schemathesis's report with each line cut short: a body of a megabyte helps nobody."""
    return "\n".join(line if len(line) <= width else line[:width] + " …" for line in message.splitlines())


def test_no_server_errors_and_every_error_an_operation_outcome(api: Api) -> None:
    operations = []
    for result in api.schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation the document describes wrongly
        operations.append(result.ok())
    assert len(operations) >= 24, f"the document lost operations: {[op.label for op in operations]}"
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(api, operation, mode)
            except SkipTest:
                assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid request to make"
            except (Exception, BaseExceptionGroup) as err:
                failures.append(f"{operation.label} ({mode.value} data):\n{shorten(str(err))}")
    assert not failures, "\n\n".join(failures)
