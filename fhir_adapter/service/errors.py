"""Errors of the service layer; each carries an HTTP status and the issues to put in an OperationOutcome."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One issue: where (a field or FHIR element path), what, and the OperationOutcome issue code."""

    path: str
    message: str
    code: str = "invalid"
    severity: str = "error"


@dataclass
class ServiceError(Exception):
    status: int
    problems: list[Problem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in self.problems)


def invalid(message: str, path: str = "", status: int = 422) -> ServiceError:
    return ServiceError(status, [Problem(path, message, "invalid")])


def not_found(what: str) -> ServiceError:
    return ServiceError(404, [Problem("", f"{what} is not known", "not-found")])


def conflict(message: str, path: str = "") -> ServiceError:
    return ServiceError(409, [Problem(path, message, "conflict")])
