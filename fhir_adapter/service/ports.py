"""What the services need from outside that is not theirs to know the workings of, as small interfaces:
the bootstrap hands them the real parts (adapters/unit_of_work.py, api/schemas/contract.py), a test its own
(tests/support/fakes.py)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from fhir_adapter.service.stores import (
    Admissions,
    Attachments,
    Audit,
    Ehrs,
    Messages,
    Orgs,
    Outbox,
    Patients,
    People,
    Records,
    Resources,
    Tokens,
)


class Contract(Protocol):
    """The case-management JSON contract: a record kind's payload → the domain record (raising Invalid
    naming every field at fault), and a domain record → its JSON (what is stored and answered)."""

    def load(self, kind: str, payload: Any) -> Any: ...

    def dump(self, record: Any) -> dict[str, Any]: ...


class Work(Protocol):
    """One unit of work: the stores over one transaction. What a service does through them is kept together
    or not at all; the one who opened it commits."""

    @property
    def records(self) -> Records: ...
    @property
    def resources(self) -> Resources: ...
    @property
    def patients(self) -> Patients: ...
    @property
    def ehrs(self) -> Ehrs: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def admissions(self) -> Admissions: ...
    @property
    def messages(self) -> Messages: ...
    @property
    def audit(self) -> Audit: ...
    @property
    def orgs(self) -> Orgs: ...
    @property
    def tokens(self) -> Tokens: ...
    @property
    def people(self) -> People: ...
    @property
    def attachments(self) -> Attachments: ...

    def savepoint(self) -> AbstractContextManager[object]:
        """A part of the unit of work that an error undoes alone, leaving the rest to go on."""


class Storage(Protocol):
    """Opens units of work: `writing()` commits when its block ends without an error, `reading()` never
    writes. Either raises StorageUnavailable when the database cannot be reached."""

    def writing(self) -> AbstractContextManager[Work]: ...

    def reading(self) -> AbstractContextManager[Work]: ...


class StorageUnavailable(Exception):
    """The database cannot be reached or is locked: the request may be retried."""


class TooCostly(Exception):
    """The statement ran past the statement timeout, or was too large for the database to run."""


class AlreadyUsed(Exception):
    """A key that may be used once was used before (a single-use token replayed)."""
