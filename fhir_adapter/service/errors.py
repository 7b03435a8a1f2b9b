"""What the services refuse, and why: typed errors with the problems to report, and no HTTP in them.

Each kind says what went wrong (the input is invalid, names what does not exist, breaks a rule; the thing
asked for is not known; it conflicts with what is stored; the version named is not the current one; the
caller is not known or may not do it). The HTTP layer (api/errors.py) picks the status for each kind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One issue: where (a field or FHIR element path), what, and the OperationOutcome issue code."""

    path: str
    message: str
    code: str = "invalid"
    severity: str = "error"


class ServiceError(Exception):
    """A refusal, with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in self.problems)


class Invalid(ServiceError):
    """The input does not say what it must (its shape, its values)."""


class UnknownReference(ServiceError):
    """The input fits the contract but names a record or an EHR that does not exist."""


class RuleBroken(ServiceError):
    """The input fits the contract but breaks a rule no schema states (a lifecycle, the mapping tables)."""


class NotFound(ServiceError):
    """What was asked for is not known (or not the caller's to see)."""


class Conflict(ServiceError):
    """It cannot be done to what is stored now (it exists already, it is in another state)."""


class StaleVersion(ServiceError):
    """The version the caller named is not the current one."""


class Unauthenticated(ServiceError):
    """The caller is not known: no token, or one that is not valid."""


class Forbidden(ServiceError):
    """The caller is known but may not do this."""


def invalid(message: str, path: str = "") -> Invalid:
    return Invalid([Problem(path, message, "invalid")])


def unknown_reference(message: str, path: str) -> UnknownReference:
    """Code not-found: it tells a body that names nothing from a body of the wrong shape (code invalid)."""
    return UnknownReference([Problem(path, message, "not-found")])


def rule_broken(message: str, path: str = "") -> RuleBroken:
    return RuleBroken([Problem(path, message, "business-rule")])


def not_found(what: str) -> NotFound:
    return NotFound([Problem("", f"{what} is not known", "not-found")])


def conflict(message: str, path: str = "") -> Conflict:
    return Conflict([Problem(path, message, "conflict")])


def forbidden(message: str) -> Forbidden:
    return Forbidden([Problem("", message, "forbidden")])
