"""The stand-in EHR (a real FHIR server: @medplum/fhir-router), the fault proxy before it, and a delivery
harness per test on each database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.delivery import Harness
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import FaultProxy


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Cases marked postgresql_only (several worker processes, a server restart) run on PostgreSQL alone;
    cases (or parameters) marked sqlite_only (variants the database does not change) on SQLite alone."""
    only = {"sqlite": "postgresql_only", "postgresql": "sqlite_only"}
    dropped = [
        item
        for item in items
        if getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database_url") in only  # type: ignore[attr-defined]
        and item.get_closest_marker(only[item.callspec.params["database_url"]])  # type: ignore[attr-defined]
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture
def proxy(ehr: EhrServer) -> Iterator[FaultProxy]:
    ehr.reset()
    proxy = FaultProxy(ehr.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def harness(service: Any, client: Any, new_org: Any, ehr: EhrServer, proxy: FaultProxy) -> Harness:
    h = Harness(service, client, new_org(), new_org.org_id, ehr, proxy)
    h.register_ehr()
    return h
