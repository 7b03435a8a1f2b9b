"""The request log line holds nothing the caller wrote: not the method, the path, the query, the user agent,
any other header or the request id, unless it is one of a few known forms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_adapter.api.audit_hook import FHIR_TYPES, METHODS
from tests.support.live import send, serving

CANARY = "Zzyzxcanary"
# RFC 9110 token characters: what a method may be made of.
TOKEN = st.text(
    alphabet=st.sampled_from("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    min_size=1,
    max_size=20,
)


def request_lines(err: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


@pytest.fixture(scope="module")
def address(app):
    with serving(app) as address:
        yield address


@pytest.mark.parametrize(
    "head",
    [
        f"{CANARY} /api/v1/clients HTTP/1.1",
        f"GET{CANARY} /fhir/Patient HTTP/1.1",
        f"{CANARY.upper()} /fhir/{CANARY} HTTP/1.1",
        f"GET /fhir/{CANARY}?identifier={CANARY} HTTP/1.1",
        f"GET /api/v1/clients/{CANARY} HTTP/1.1",
        f"PUT /fhir/{CANARY}/{CANARY} HTTP/1.1",
        f"GET /{CANARY}%0A{{%22level%22:%22error%22}} HTTP/1.1",
    ],
)
def test_what_the_caller_wrote_stays_out_of_the_log(address, new_org, capsys, head):
    headers = new_org() | {
        "Host": "127.0.0.1",
        "User-Agent": CANARY,
        "Referer": f"http://{CANARY}/",
        "X-Request-Id": CANARY,
        "X-Forwarded-For": CANARY,
        f"X-{CANARY}": CANARY,
    }
    capsys.readouterr()
    answer = send(address, head, headers)
    assert 400 <= answer.status < 500
    err = capsys.readouterr().err
    [line] = request_lines(err)
    assert line["method"] in METHODS | {"OTHER"}
    assert CANARY not in err and CANARY.upper() not in err, err


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(method=TOKEN)
def test_any_method_is_logged_as_a_known_one_or_other(app, capsys, method):
    capsys.readouterr()
    app.test_client().open(f"/fhir/{method}", method=method, headers={"X-Request-Id": method})
    [line] = request_lines(capsys.readouterr().err)
    assert line["method"] == (method if method in METHODS else "OTHER")
    known = {rule.rule for rule in app.url_map.iter_rules()}
    known |= {rule.replace("<rtype>", t) for rule in known for t in FHIR_TYPES}
    assert line["route"] in known | {"?"}
    assert line["request_id"] != method


@pytest.mark.parametrize(
    "head", [f"GET /fhir/Patient?name={CANARY} {CANARY} HTTP/1.1", f"GET /fhir/{CANARY} HTTP/1.1 {CANARY}"]
)
def test_the_server_quotes_no_malformed_request_line(address, capsys, head):
    """The HTTP server's own complaint about a request it cannot parse keeps its wording, not the line."""
    capsys.readouterr()
    assert send(address, head, {"Host": "127.0.0.1"}).status in (0, 400)
    err = capsys.readouterr().err
    assert "code 400, message (withheld)" in err, err
    assert CANARY not in err, err
