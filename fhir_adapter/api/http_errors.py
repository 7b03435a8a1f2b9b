"""Refusals that belong to HTTP itself (a query parameter or header that cannot be read, a body that is not
JSON, a type this server does not serve), with their status: the services' own errors carry none."""

from __future__ import annotations

from fhir_adapter.service.errors import Problem


class HttpError(Exception):
    def __init__(self, status: int, problems: list[Problem], headers: dict[str, str] | None = None) -> None:
        super().__init__(problems)
        self.status = status
        self.problems = problems
        self.headers = headers or {}


def bad_request(message: str, path: str = "", code: str = "invalid") -> HttpError:
    """400: what the request's URL or headers say cannot be read."""
    return HttpError(400, [Problem(path, message, code)])
