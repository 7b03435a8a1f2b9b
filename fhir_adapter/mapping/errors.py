"""Typed errors of the mapping layer; each carries the path of the element or field it is about."""

from __future__ import annotations

from dataclasses import dataclass


class MappingError(Exception):
    """A record cannot be mapped: the message names the field path in the input."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class MappingConfigError(Exception):
    """A mapping file is missing, malformed or inconsistent: names the file and the place in it."""


@dataclass(frozen=True)
class Issue:
    """One finding of validation, in OperationOutcome terms."""

    severity: str  # error | warning | information
    path: str  # FHIRPath-like location, e.g. Bundle.entry[3].resource.status
    message: str
    layer: str  # structure | binding | reference | invariant | content

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message} [{self.layer}]"


class InvalidFhirInput(MappingError):
    """FHIR we were given is not valid R4: it is not read, and the issues say why."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(str(i) for i in issues[:5]))
        self.issues = issues


class FhirValidationError(Exception):
    """Output failed validation: it is never sent."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(str(i) for i in issues[:5]))
        self.issues = issues
