"""Deterministic identity: business identifiers and UUIDv5 ids derived from them (DESIGN.md §3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

_NAMESPACE = uuid.UUID("5b3c2a9e-6f0d-5c1e-9a47-3f1d2e8b7c60")
_SEP = "\x1f"


@dataclass(frozen=True)
class Identity:
    """Where our identifiers live: one namespace URI per source system; kinds are path segments under it."""

    tenant: str
    source_system: str
    namespace: str

    def system(self, kind: str) -> str:
        """The identifier system for one kind of record, e.g. https://cms.example.org/ids/referral."""
        return f"{self.namespace.rstrip('/')}/{kind}"

    def uuid(self, kind: str, record_id: str) -> str:
        """The stable resource id for a record: the same inputs give the same id on every run."""
        name = _SEP.join((self.tenant, self.source_system, kind, record_id))
        return str(uuid.uuid5(_NAMESPACE, name))

    def identifier(self, kind: str, record_id: str) -> dict[str, str]:
        return {"system": self.system(kind), "value": record_id}

    def kind_of(self, system: str) -> str | None:
        """The record kind an identifier system names, or None when it is not one of ours."""
        prefix = self.namespace.rstrip("/") + "/"
        return system[len(prefix) :] if system.startswith(prefix) else None
