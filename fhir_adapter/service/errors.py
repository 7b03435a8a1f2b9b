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


def unknown_reference(message: str, path: str) -> ServiceError:
    """422 for a body that fits the contract but names a record or an EHR that does not exist: the issue's
    code, not-found, tells it from a body of the wrong shape (code invalid)."""
    return ServiceError(422, [Problem(path, message, "not-found")])


def rule_broken(message: str, path: str = "") -> ServiceError:
    """422 for a body that fits the contract but breaks a rule no schema states (a lifecycle, the mapping
    tables): code business-rule."""
    return ServiceError(422, [Problem(path, message, "business-rule")])


def not_found(what: str) -> ServiceError:
    return ServiceError(404, [Problem("", f"{what} is not known", "not-found")])


def conflict(message: str, path: str = "") -> ServiceError:
    return ServiceError(409, [Problem(path, message, "conflict")])
