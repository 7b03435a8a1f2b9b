"""The services' stores (service/stores.py) over one database transaction: each store module's functions
with the connection bound, so `record_store.get(conn, org, kind, id)` is `work.records.get(org, kind, id)`.
`SqlStorage` opens such units of work (`writing`, `reading`: adapters/db.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from types import ModuleType
from typing import Any, cast

from sqlalchemy import Connection, Engine

from fhir_adapter.adapters import (
    admission_store,
    attachment_store,
    audit_store,
    db,
    ehr_store,
    fhir_store,
    inbound_store,
    org_store,
    outbox_store,
    patient_search,
    record_store,
    token_store,
    user_store,
)
from fhir_adapter.service import stores
from fhir_adapter.service.ports import Work

# Each store the services see, and the module that keeps it.
MODULES: dict[str, tuple[type, ModuleType]] = {
    "records": (stores.Records, record_store),
    "resources": (stores.Resources, fhir_store),
    "patients": (stores.Patients, patient_search),
    "ehrs": (stores.Ehrs, ehr_store),
    "outbox": (stores.Outbox, outbox_store),
    "admissions": (stores.Admissions, admission_store),
    "messages": (stores.Messages, inbound_store),
    "audit": (stores.Audit, audit_store),
    "orgs": (stores.Orgs, org_store),
    "tokens": (stores.Tokens, token_store),
    "people": (stores.People, user_store),
    "attachments": (stores.Attachments, attachment_store),
}


def members(protocol: type) -> list[str]:
    """The methods an interface declares."""
    return [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]


_DECLARED = {name: frozenset(members(protocol)) for name, (protocol, _) in MODULES.items()}


class _Bound:
    """A store module's functions that its interface declares, with the connection bound."""

    def __init__(self, store: str, conn: Connection) -> None:
        self._declared = _DECLARED[store]
        self._module = MODULES[store][1]
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        if name not in self._declared:
            raise AttributeError(name)
        return partial(getattr(self._module, name), self._conn)


class SqlWork:
    """The stores over one open connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        bound = {name: _Bound(name, conn) for name in MODULES}
        self.records = cast(stores.Records, bound["records"])
        self.resources = cast(stores.Resources, bound["resources"])
        self.patients = cast(stores.Patients, bound["patients"])
        self.ehrs = cast(stores.Ehrs, bound["ehrs"])
        self.outbox = cast(stores.Outbox, bound["outbox"])
        self.admissions = cast(stores.Admissions, bound["admissions"])
        self.messages = cast(stores.Messages, bound["messages"])
        self.audit = cast(stores.Audit, bound["audit"])
        self.orgs = cast(stores.Orgs, bound["orgs"])
        self.tokens = cast(stores.Tokens, bound["tokens"])
        self.people = cast(stores.People, bound["people"])
        self.attachments = cast(stores.Attachments, bound["attachments"])

    def savepoint(self) -> AbstractContextManager[object]:
        return self._conn.begin_nested()


class SqlStorage:
    """Units of work on the database behind `engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def writing(self) -> Iterator[Work]:
        with db.writing(self.engine) as conn:
            yield SqlWork(conn)

    @contextmanager
    def reading(self) -> Iterator[Work]:
        with db.reading(self.engine) as conn:
            yield SqlWork(conn)
