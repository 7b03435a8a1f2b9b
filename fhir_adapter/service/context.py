"""Who is asking and for which organisation; the clock. Passed into every service function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fhir_adapter.mapping.identity import Identity

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """A UTC instant as stored and served: 2025-10-02T07:30:00.000000Z (orders as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Org:
    """An organisation: its records are its own; its identifiers live under its namespace."""

    id: str
    name: str
    identifier_namespace: str
    identity: Identity
    time_zone: str = "UTC"  # the IANA zone its people see times in


@dataclass(frozen=True)
class Principal:
    """An authenticated API client (or token holder) acting for one organisation."""

    agent_id: str
    name: str
    org: Org
    grants: frozenset[tuple[str, str]] = field(
        default_factory=frozenset
    )  # (type or *, action): scopes.grants
    restricted_access: bool = False  # may see resources labelled restricted
    ehr_id: str | None = None  # acting for this EHR: what it sends is not echoed back to it
