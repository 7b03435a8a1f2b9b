"""How much one /fhir search may ask: parameters and values are capped, statements are timed out, and an
empty value is an error unless the client asks for lenient handling."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from fhir_adapter.adapters.db import TooCostly, is_postgres, make_engine, reading
from fhir_adapter.app import create_app
from fhir_adapter.bootstrap import bootstrap
from fhir_adapter.config import Settings
from fhir_adapter.fhir_api.capability import capability_statement

SERVED = {r["type"]: r for r in capability_statement("http://test/fhir", "2025-01-01")["rest"][0]["resource"]}
EVERY_PARAMETER = [(t, p["name"]) for t, r in sorted(SERVED.items()) for p in r["searchParam"]]
LENIENT = {"Prefer": "handling=lenient"}


def _refused_for_size(response, limit: str) -> None:
    assert response.status_code == 400, response.json
    issue = response.json["issue"][0]
    assert response.json["resourceType"] == "OperationOutcome" and issue["code"] == "too-costly"
    assert limit in issue["diagnostics"], issue


def test_one_parameter_past_the_cap_is_refused(client, new_org):
    headers = new_org()
    at_cap = [("identifier", f"id-{i}") for i in range(20)]
    assert client.get("/fhir/Patient", query_string=at_cap, headers=headers).status_code == 200
    beyond = client.get("/fhir/Patient", query_string=[*at_cap, ("identifier", "one-more")], headers=headers)
    _refused_for_size(beyond, "at most 20 parameters (FHIR_ADAPTER_SEARCH_MAX_PARAMETERS)")
    audit = client.get("/fhir/AuditEvent", query_string=[("action", "R")] * 21, headers=headers)
    _refused_for_size(audit, "at most 20 parameters")
    lenient = client.get("/fhir/Patient", query_string=[("colour", "red")] * 21, headers=headers | LENIENT)
    _refused_for_size(lenient, "at most 20 parameters")  # lenient handling ignores, it does not lift limits


def test_one_value_past_the_cap_is_refused(client, new_org):
    headers = new_org()
    values = ",".join(f"id-{i}" for i in range(101))
    _refused_for_size(
        client.get(f"/fhir/Patient?_id={values}", headers=headers),
        "at most 100 values (FHIR_ADAPTER_SEARCH_MAX_VALUES)",
    )
    split = [("identifier", ",".join(f"s{j}|v{i}-{j}" for j in range(10))) for i in range(11)]
    _refused_for_size(client.get("/fhir/CarePlan", query_string=split, headers=headers), "at most 100 values")


def test_a_search_at_the_cap_answers_quickly(client, kim_org, kim):
    headers, pid = kim_org
    identifiers = [("identifier", ",".join(f"sys-{i}|val-{i}-{j}" for j in range(5))) for i in range(19)]
    query = [("patient", pid), *identifiers]
    started = time.perf_counter()
    response = client.get("/fhir/CarePlan", query_string=query, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.json["total"] == 0
    assert elapsed < 2.0, elapsed


def test_settings_move_the_caps():
    settings = Settings.from_env(
        {"FHIR_ADAPTER_SEARCH_MAX_PARAMETERS": "5", "FHIR_ADAPTER_SEARCH_MAX_VALUES": "7"}
    )
    assert (settings.search_max_parameters, settings.search_max_values) == (5, 7)
    assert (
        Settings.from_env({"FHIR_ADAPTER_STATEMENT_TIMEOUT_SECONDS": "2.5"}).statement_timeout_seconds == 2.5
    )


def _app_with(service, **overrides):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=service.settings.database_url, **overrides)
    services = bootstrap(settings, catalogue=service.deps.catalogue)
    return services, create_app(services=services)


def test_a_statement_past_the_timeout_answers_too_costly(service, new_org):
    """PostgreSQL: the web engine's connections carry the timeout and a search held up past it is cancelled.
    On SQLite, a search too large for it to run answers the same way (a slow one: the test below)."""
    headers = new_org()
    if not is_postgres(service.engine):
        services, app = _app_with(service, search_max_parameters=2000, search_max_values=2000)
        query = [("identifier", f"id-{i}") for i in range(1500)]
        response = app.test_client().get("/fhir/Patient", query_string=query, headers=headers)
        services.close()
        assert response.status_code == 422 and response.json["issue"][0]["code"] == "too-costly"
        return
    with reading(service.engine) as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "10s"
    services, app = _app_with(service, statement_timeout_seconds=0.3)
    locked, release = threading.Event(), threading.Event()

    def hold_the_table() -> None:  # a search must wait for this lock, past its timeout
        with service.engine.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE fhir_resources IN ACCESS EXCLUSIVE MODE"))
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_table)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.perf_counter()
        response = app.test_client().get("/fhir/CarePlan?status=active", headers=headers)
        elapsed = time.perf_counter() - started
    finally:
        release.set()
        holder.join()
        services.close()
    assert response.status_code == 422, response.json
    issue = response.json["issue"][0]
    assert issue["code"] == "too-costly" and "not available" not in issue["diagnostics"]
    assert elapsed < 5, elapsed


COUNTING = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :upto) SELECT count(*) FROM n"
)


def test_on_sqlite_a_statement_of_the_web_app_past_the_timeout_is_interrupted(tmp_path):
    """The web app's engine bounds each statement on SQLite too; its connection serves the next request, and
    an engine without a timeout (the worker's) runs the same statement to the end."""
    url = f"sqlite:///{tmp_path / 'timeout.db'}"
    services = bootstrap(Settings(database_url=url, statement_timeout_seconds=0.2))
    try:
        started = time.perf_counter()
        with pytest.raises(TooCostly), reading(services.engine) as conn:
            conn.execute(text(COUNTING), {"upto": 2 * 10**7}).scalar_one()  # some seconds unbounded
        assert time.perf_counter() - started < 3
        with reading(services.engine) as conn:
            assert conn.execute(text(COUNTING), {"upto": 1000}).scalar_one() == 1000
    finally:
        services.close()
    unbounded = make_engine(url)
    with reading(unbounded) as conn:  # longer than the timeout above
        assert conn.execute(text(COUNTING), {"upto": 10**6}).scalar_one() == 10**6
    unbounded.dispose()


@pytest.mark.parametrize(("rtype", "name"), EVERY_PARAMETER)
def test_an_empty_value_is_refused_unless_lenient(client, new_org, rtype, name):
    headers = new_org("system/*.read system/AuditEvent.read")
    for empty in ("", ","):
        strict = client.get(f"/fhir/{rtype}", query_string=[(name, empty)], headers=headers)
        assert strict.status_code == 400, (rtype, name, strict.json)
        assert (
            strict.json["issue"][0]["expression"] == [name]
            and "no value" in strict.json["issue"][0]["diagnostics"]
        )
    lenient = client.get(f"/fhir/{rtype}", query_string=[(name, "")], headers=headers | LENIENT)
    assert lenient.status_code == 200, lenient.json
    outcomes = [e["resource"] for e in lenient.json["entry"] if e["search"]["mode"] == "outcome"]
    assert [i["expression"] for o in outcomes for i in o["issue"]] == [[name]]


def test_lenient_handling_says_what_it_left_out(client, kim_org):
    headers, pid = kim_org
    assert client.get("/fhir/CarePlan?patient=", headers=headers).status_code == 400
    everything = client.get("/fhir/CarePlan?patient=&colour=red&status:not=x", headers=headers | LENIENT).json
    assert everything["total"] == 1  # the empty patient is ignored, as FHIR says a lenient server does
    outcome = next(e["resource"] for e in everything["entry"] if e["search"]["mode"] == "outcome")
    assert [i["expression"] for i in outcome["issue"]] == [["patient"], ["colour"], ["status:not"]]
    assert {i["severity"] for i in outcome["issue"]} == {"warning"}
    plain = client.get(f"/fhir/CarePlan?patient={pid}", headers=headers | LENIENT).json
    assert all(e["search"]["mode"] == "match" for e in plain["entry"])
