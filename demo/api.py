"""The service's HTTP API as the demo calls it: a bearer token, JSON in and out, errors as sentences."""

from __future__ import annotations

from typing import Any

import requests

from demo.console import DemoError


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, json=body)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        except requests.RequestException as err:
            raise DemoError(f"{method} {path}: the service did not answer ({type(err).__name__})") from err
        if not response.ok:
            raise DemoError(f"{method} {path}: HTTP {response.status_code}: {_problems(response)}")
        return response.json()

    def close(self) -> None:
        self.session.close()


def _problems(response: requests.Response) -> str:
    try:
        outcome = response.json()
    except ValueError:
        return response.text[:300] or "(empty answer)"
    issues = outcome.get("issue", []) if isinstance(outcome, dict) else []
    said = [
        f"{issue.get('diagnostics', '?')}"
        + (f" ({', '.join(issue['expression'])})" if issue.get("expression") else "")
        for issue in issues
    ]
    return "; ".join(said) or str(outcome)[:300]
