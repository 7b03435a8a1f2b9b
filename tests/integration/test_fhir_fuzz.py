"""No input to /fhir answers a 5xx, on SQLite and PostgreSQL: every 4xx is an OperationOutcome.

The search parameters come from the endpoint's own CapabilityStatement (so a new one is fuzzed too), with
modifiers, prefixes, paging, _sort, _include and _revinclude; requests also go to read, vread and history
paths and to writes, each with awkward If-Match, If-None-Exist, Idempotency-Key, Prefer and Accept headers.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_adapter.fhir_api.capability import WRITABLE, capability_statement
from tests.integration.conftest import patient_id, seed

SERVED = {r["type"]: r for r in capability_statement("http://test/fhir", "2025-01-01")["rest"][0]["resource"]}
TYPES = sorted(SERVED)
COMMON = (
    "_count",
    "_offset",
    "_sort",
    "_include",
    "_revinclude",
    "_lastUpdated",
    "_format",
    "_id",
    "_elements",
)
MODIFIERS = ("", ":exact", ":missing", ":not", ":contains", ":text", ":Patient", ":iterate", ":above", ":")
PREFIXES = ("", "eq", "ne", "ge", "gt", "le", "lt", "sa", "eb", "ap")
# Values that broke the endpoint once, and their kin.
AWKWARD = (
    "",
    ",",
    "²",
    "٣",
    "1_0",
    " 5",
    "+5",
    "-1",
    "9" * 25,
    str(2**63),
    str(2**31),
    "9999-12-31",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12",
    "9999",
    "0000",
    "2020-02-30",
    "2020-13",
    "2020-01-01T10:00",
    "2020-01-01T24:00:00Z",
    "Patient/",
    "/",
    "Patient/x/y",
    "|",
    "sys|",
    "|code",
    "a|b|c",
    "CarePlan:goal",
    "CarePlan:goal:Goal",
    "*",
    "\x00",
    "\x01\x7f",
    "\u2028",
    "\ud7ff",
    "%00",
    "' OR 1=1 --",
    "x" * 2000,
)
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x2FF, exclude_characters="\r\n"), max_size=40
)
HEADER_VALUES = st.one_of(
    st.sampled_from(AWKWARD).filter(lambda v: "\n" not in v and "\r" not in v),
    HEADER_TEXT,
    st.sampled_from(('W/"²"', 'W/"1"', f'W/"{2**63}"', '"1"', "W/", "handling=lenient", "handling=strict")),
    st.sampled_from(
        ("return=minimal", "return=OperationOutcome", "application/fhir+json", "*/*", "text/xml")
    ),
)
HEADERS = st.dictionaries(
    st.sampled_from(("If-Match", "If-None-Exist", "Idempotency-Key", "Prefer", "Accept")),
    HEADER_VALUES,
    max_size=5,
)
TEXT = st.text(max_size=30)


@st.composite
def values(draw: Any) -> str:
    prefix = draw(st.one_of(st.just(""), st.sampled_from(PREFIXES)))
    parts = draw(st.lists(st.one_of(st.sampled_from(AWKWARD), TEXT), min_size=1, max_size=3))
    return prefix + ",".join(parts)


@st.composite
def searches(draw: Any) -> tuple[str, list[tuple[str, str]]]:
    rtype = draw(st.sampled_from(TYPES))
    served = SERVED[rtype]
    names = [p["name"] for p in served["searchParam"]] + list(COMMON)
    includes = served.get("searchInclude", []) + served.get("searchRevInclude", [])
    query = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.one_of(st.sampled_from(names), TEXT)) + draw(
            st.one_of(st.just(""), st.sampled_from(MODIFIERS))
        )
        if name.startswith(("_include", "_revinclude")) and includes and draw(st.booleans()):
            query.append((name, draw(st.sampled_from(includes))))
        else:
            query.append((name, draw(values())))
    return f"/fhir/{rtype}", query


@st.composite
def paths(draw: Any, ids: dict[str, str]) -> str:
    rtype = draw(st.sampled_from([*TYPES, "Encounter", "", "..", "metadata"]))
    rid = draw(st.one_of(st.just(ids.get(rtype, "x")), st.sampled_from(AWKWARD), TEXT))
    tail = draw(st.sampled_from(("", "/_history", "/_history/1", "/_history/")))
    version = draw(st.one_of(st.sampled_from(AWKWARD), TEXT)) if tail == "/_history/" else ""
    return f"/fhir/{rtype}/{rid}{tail}{version}".replace("?", "%3F").replace("#", "%23")


def _check(response: Any, what: object) -> None:
    assert response.status_code < 500, (what, response.status_code, response.get_data()[:300])
    if response.status_code >= 400:
        assert response.json["resourceType"] == "OperationOutcome", what


@pytest.fixture
def world(client, new_org, kim):
    """An organisation with a case file; one id of each type for the read paths; a resource to write."""
    headers = new_org()
    seed(client, headers, kim)
    pid = patient_id(client, headers, kim["client"]["id"])
    ids = {"Patient": pid}
    for rtype in TYPES:
        if rtype != "Patient":
            found = client.get(f"/fhir/{rtype}?_count=1", headers=headers).json.get("entry", [])
            ids |= {rtype: found[0]["resource"]["id"]} if found else {}
    task = client.get(f"/fhir/Task/{ids['Task']}", headers=headers).json
    return client, headers, ids, task


FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@FUZZ
@given(data=st.data())
def test_no_search_or_read_answers_a_5xx(world, data):
    client, headers, ids, _ = world
    extra = data.draw(HEADERS)
    if data.draw(st.booleans()):
        url, query = data.draw(searches())
    else:
        url, query = data.draw(paths(ids)), []
    _check(client.get(url, query_string=query, headers=headers | extra), (url, query, extra))


@FUZZ
@given(data=st.data())
def test_no_write_answers_a_5xx(world, data):
    client, headers, _, task = world
    extra = data.draw(HEADERS)
    rtype = data.draw(st.sampled_from(WRITABLE))
    body = copy.deepcopy(task) if rtype == "Task" else {"resourceType": rtype}
    if data.draw(st.booleans()):
        response = client.put(f"/fhir/{rtype}/{body.get('id', 'x')}", json=body, headers=headers | extra)
    else:
        response = client.post(f"/fhir/{rtype}", json=body | {"id": None}, headers=headers | extra)
    _check(response, (rtype, extra))
    episode = "EP-5521"
    cms = client.put(f"/api/v1/episodes/{episode}", json={"id": episode}, headers=headers | extra)
    _check(cms, ("episode", extra))


# The edges each parameter and header is tried with, one by one (hypothesis mixes them at random above).
EDGES = (
    "²",
    "٣",
    str(2**63),
    "9999-12-31",
    "ge9999-12-31T23:59:59Z",
    "lt0001-01-01T00:00:00+01:00",
    "9999-12",
    "",
    "|",
    "Patient/",
    "\x01",
    "x" * 2000,
)


def test_every_parameter_of_every_type_at_its_edges(world):
    client, headers, _, _ = world
    for rtype in TYPES:
        names = [p["name"] for p in SERVED[rtype]["searchParam"]] + list(COMMON)
        for name in names:
            for value in EDGES:
                response = client.get(f"/fhir/{rtype}", query_string=[(name, value)], headers=headers)
                _check(response, (rtype, name, value))


def test_every_header_at_its_edges(world):
    client, headers, ids, task = world
    for name in ("If-Match", "If-None-Exist", "Idempotency-Key", "Prefer", "Accept"):
        for value in (*EDGES, 'W/"²"', f'W/"{2**63}"', "\x00"):
            edge = headers | {name: value}
            _check(client.get(f"/fhir/Patient?_id={ids['Patient']}", headers=edge), (name, value))
            _check(client.get(f"/fhir/Patient/{ids['Patient']}/_history/1", headers=edge), (name, value))
            _check(client.put(f"/fhir/Task/{task['id']}", json=task, headers=edge), (name, value))
            _check(
                client.put("/api/v1/episodes/EP-5521", json={"id": "EP-5521"}, headers=edge), (name, value)
            )


@pytest.mark.parametrize(
    "url",
    [
        "/fhir/CarePlan?_count=²",
        "/fhir/CarePlan?_offset=²",
        "/fhir/Patient/{pid}/_history/²",
        f"/fhir/Patient/{{pid}}/_history/{2**63}",
        "/fhir/CarePlan?_lastUpdated=9999-12-31",
        "/fhir/CarePlan?_lastUpdated=ge9999-12-31T23:59:59Z",
        "/fhir/CarePlan?_lastUpdated=0001-01-01T00:00:00%2B01:00",
        "/fhir/AuditEvent?date=9999-12",
    ],
)
def test_the_reported_inputs(world, url):
    client, headers, ids, _ = world
    response = client.get(url.format(pid=ids["Patient"]), headers=headers)
    _check(response, url)


def test_the_reported_headers(world, kim):
    client, headers, _, task = world
    episode = kim["episodes"][0]
    for value in ('W/"²"', f'W/"{2**63}"'):
        response = client.put(
            f"/api/v1/episodes/{episode['id']}", json=episode, headers=headers | {"If-Match": value}
        )
        assert response.status_code == 400 and response.json["issue"][0]["expression"] == ["If-Match"]
    for key in ("a\x00b", "tab\tkey", "ключ"):
        response = client.put(
            f"/fhir/Task/{task['id']}", json=task, headers=headers | {"Idempotency-Key": key}
        )
        assert response.status_code == 400 and response.json["issue"][0]["expression"] == ["Idempotency-Key"]
    nul = client.get("/fhir/CarePlan", headers=headers | {"Prefer": "handling=\x00lenient"})
    assert nul.status_code == 400 and nul.json["issue"][0]["expression"] == ["Prefer"]
