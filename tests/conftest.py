"""Shared fixtures. With FHIR_ADAPTER_STRICT_SKIPS=1 (CI) a skipped test fails: every part must be present."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fhir_adapter.api.schemas import load_case_file
from fhir_adapter.domain.records import CaseFile
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.loader import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "fixtures" / "cases").glob("*.json"))
EHR = sorted((ROOT / "fixtures" / "ehr").glob("*.json"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("FHIR_ADAPTER_STRICT_SKIPS") == "1"
        and report.skipped
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped under FHIR_ADAPTER_STRICT_SKIPS=1: {report.longrepr}"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def identity() -> Identity:
    return Identity(
        tenant="test-tenant", source_system="cms-test", namespace="https://cms.example.org/identifiers"
    )


def read_json(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def load_case(path: Path) -> CaseFile:
    return load_case_file(read_json(path))


# --- the service on a real database: SQLite (a file) and PostgreSQL (a fresh database per test run) ---

PG_SERVER = os.environ.get("FHIR_ADAPTER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _fresh_pg_database() -> str:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    name = f"fa_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as err:
        pytest.skip(
            f"PostgreSQL is not reachable at {PG_SERVER} ({type(err.orig).__name__}): start it to run these"
        )
    finally:
        admin.dispose()
    return PG_SERVER.rsplit("/", 1)[0] + "/" + name


def _drop_pg_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'service.db'}"
        return
    url = _fresh_pg_database()
    yield url
    _drop_pg_database(url)


@pytest.fixture(scope="session")
def service(database_url: str, catalogue: Catalogue):  # type: ignore[no-untyped-def]
    """The services of one app on a migrated database."""
    from fhir_adapter.adapters.migrate import upgrade
    from fhir_adapter.bootstrap import bootstrap
    from fhir_adapter.config import Settings

    settings = Settings(database_url=database_url, identifier_namespace="https://cms.example.org/ids")
    services = bootstrap(settings, catalogue=catalogue)
    upgrade(services.engine)
    yield services
    services.close()


@pytest.fixture(scope="session")
def app(service):  # type: ignore[no-untyped-def]
    from fhir_adapter.app import create_app

    return create_app(services=service)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


ALL_SCOPES = "system/*.read system/*.write system/AuditEvent.read"


@pytest.fixture
def new_org(service):  # type: ignore[no-untyped-def]
    """Register an organisation of its own for a test; returns a function (scopes) → bearer headers."""
    import uuid

    from fhir_adapter.service.auth import register_client

    org_id = f"org-{uuid.uuid4().hex[:10]}"

    def token(scopes: str = ALL_SCOPES, org: str = org_id) -> dict[str, str]:
        _, secret = register_client(service.storage, service.settings, org, f"{org} client", scopes)
        return {"Authorization": f"Bearer {secret}"}

    token.org_id = org_id  # type: ignore[attr-defined]
    return token


@pytest.fixture(scope="session")
def ehr():  # type: ignore[no-untyped-def]
    """The stand-in EHR: a real FHIR server (tests/ehr/server.js, @medplum/fhir-router), one per session."""
    from tests.support.ehr_server import node_available, start_ehr

    missing = node_available()
    if missing:
        pytest.skip(f"the stand-in EHR cannot start: {missing} (make test installs it with npm)")
    server = start_ehr()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def conditional_ehr(ehr):  # type: ignore[no-untyped-def]
    """A second stand-in EHR whose CapabilityStatement says updateCreate: false: we write conditionally."""
    from tests.support.ehr_server import start_ehr

    server = start_ehr(env={"EHR_UPDATE_CREATE": "false"})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def restrictive_ehr(ehr):  # type: ignore[no-untyped-def]
    """A stand-in EHR as published EHR APIs often are: CarePlan, Goal, ServiceRequest, Task and
    QuestionnaireResponse read-only; DocumentReference, Observation and Communication created; 405 else."""
    from tests.support.ehr_server import start_ehr

    server = start_ehr(profile="restrictive")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def no_transaction_ehr(ehr):  # type: ignore[no-untyped-def]
    """A stand-in EHR that writes every type but takes no transaction or batch Bundle."""
    from tests.support.ehr_server import start_ehr

    server = start_ehr(profile="no-transaction")
    yield server
    server.stop()
