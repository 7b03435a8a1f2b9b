"""One EHR's FHIR server over HTTP: authentication, timeouts, and what each answer means for delivery.

Connection errors, timeouts, 408, 429 and 5xx are worth retrying (429 and 503 with their Retry-After);
409 and 412 mean the EHR's copy moved on: re-read and reconcile; any other 4xx will not get better by
waiting: the job is a dead letter, with the server's OperationOutcome.
"""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from fhir_adapter.delivery.keys import SigningKey, SigningKeyError, client_assertion, load_keys
from fhir_adapter.domain.sync import Ehr

FHIR_JSON = "application/fhir+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class Failure(Exception):
    """A delivery attempt that did not get through, and what to do about it: retry | reconcile | dead."""

    action: str
    reason: str
    status: int | None = None
    detail: Any = None  # the server's OperationOutcome, or a message
    retry_after: float | None = None
    resource_type: str | None = None  # the type whose write the EHR refused, where one was

    def __str__(self) -> str:
        return f"{self.reason} ({self.action})"


class TooLarge(Exception):
    """A download went past its limit of bytes; the rest was not read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def failure_for(status: int, body: Any, retry_after: str | None = None) -> Failure:
    wait = parse_retry_after(retry_after)
    if status in (408, 429) or status >= 500:
        return Failure("retry", f"http_{status}", status, body, wait)
    if status == 401:
        return Failure("retry", "unauthorized", status, body, wait)
    if status in (409, 412):
        return Failure("reconcile", f"conflict_{status}", status, body)
    return Failure("dead", f"http_{status}", status, body)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class EhrClient:
    """One Session per EHR; the access token is cached until shortly before it expires."""

    def __init__(self, ehr: Ehr, keys: list[SigningKey], timeout: float) -> None:
        self.ehr = ehr
        self.base = ehr.base_url.rstrip("/")
        self.keys = keys
        self.timeout = timeout
        self.session = requests.Session()
        self._token: tuple[str, float] | None = None
        self._token_url = ehr.token_url  # else discovered once
        self._lock = threading.Lock()
        self._granted: str | None = None

    def granted_scopes(self) -> str | None:
        """The scopes the token endpoint granted (what we asked for, where it did not say); None without
        SMART authorisation: the CapabilityStatement alone says what we may write."""
        if self.ehr.auth != "smart":
            return None
        self._access_token()
        return self._granted

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """The answer's JSON body, or Failure."""
        response = self.raw(method, path, body, headers)
        if response.status_code >= 400:
            if response.status_code == 401:
                self._token = None
            raise failure_for(response.status_code, _json(response), response.headers.get("Retry-After"))
        return _json(response)

    def raw(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        url = f"{self.base}/{path}" if path else self.base
        sent = {"Accept": FHIR_JSON, **(headers or {}), **self._auth()}
        if body is not None:
            sent["Content-Type"] = FHIR_JSON
        return self._call(method, url, json=body, headers=sent)

    def download(self, path: str, accept: str, limit: int) -> tuple[str, bytes]:
        """GET `path` (relative to the base) with the EHR's credentials: (content type, bytes), read no
        further than `limit` bytes (TooLarge past it), or Failure."""
        url = f"{self.base}/{path}"
        with self._call("GET", url, headers={"Accept": accept, **self._auth()}, stream=True) as response:
            if response.status_code >= 400:
                raise failure_for(response.status_code, {"text": f"HTTP {response.status_code}"})
            data = bytearray()
            try:
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > limit:
                        raise TooLarge(limit)
            except requests.RequestException as err:
                raise Failure("retry", "connection", None, _first_line(err)) from err
            return response.headers.get("Content-Type", ""), bytes(data)

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange; no answer in time or no connection is a Failure worth retrying."""
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as err:
            raise Failure("retry", "timeout", None, f"no answer within {self.timeout:g} s") from err
        except requests.RequestException as err:
            raise Failure("retry", "connection", None, _first_line(err)) from err

    def _auth(self) -> dict[str, str]:
        if self.ehr.auth == "bearer" and self.ehr.bearer_token:
            return {"Authorization": f"Bearer {self.ehr.bearer_token}"}
        if self.ehr.auth == "smart":
            return {"Authorization": f"Bearer {self._access_token()}"}
        return {}

    def _access_token(self) -> str:
        with self._lock:
            if self._token is None or self._token[1] <= time.monotonic():
                self._token = self._fetch_token()
            return self._token[0]

    def _fetch_token(self) -> tuple[str, float]:
        if not self.keys:
            raise Failure("retry", "no_signing_key", None, "no signing key is configured")
        if self._token_url is None:
            self._token_url = self._discover_token_url()
        form = {
            "grant_type": "client_credentials",
            "scope": self.ehr.scope or "system/*.write",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(self.keys[0], self.ehr.client_id or "", self._token_url),
        }
        response = self._call("POST", self._token_url, data=form)
        body = _json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(token, str):
            raise Failure("retry", "token_refused", response.status_code, body)
        granted = body.get("scope")
        self._granted = granted if isinstance(granted, str) else form["scope"]
        try:
            lifetime = float(body.get("expires_in", 300))
        except (TypeError, ValueError):
            lifetime = 300.0
        return token, time.monotonic() + max(lifetime - 60, lifetime * 0.5)

    def _discover_token_url(self) -> str:
        response = self._call("GET", f"{self.base}/.well-known/smart-configuration")
        body = _json(response)
        url = body.get("token_endpoint") if response.status_code == 200 and isinstance(body, dict) else None
        if not isinstance(url, str):
            raise Failure("retry", "token_endpoint", response.status_code, "no token_endpoint")
        return url


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"text": response.text[:500]}


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0][:300] if str(err) else type(err).__name__


class EhrClients:
    """One client per EHR, made again when its registration changes; our signing keys read once."""

    def __init__(self, key_paths: tuple[Path, ...], timeout: float) -> None:
        self.key_paths = key_paths
        self.timeout = timeout
        self._clients: dict[tuple[str, str], EhrClient] = {}
        self._keys: list[SigningKey] | None = None
        self._lock = threading.Lock()

    def get(self, ehr: Ehr) -> EhrClient:
        with self._lock:
            client = self._clients.get((ehr.org_id, ehr.id))
            if client is None or client.ehr != ehr:
                client = EhrClient(ehr, self._signing_keys() if ehr.auth == "smart" else [], self.timeout)
                self._clients[(ehr.org_id, ehr.id)] = client
            return client

    def _signing_keys(self) -> list[SigningKey]:
        if self._keys is None:
            try:
                self._keys = load_keys(self.key_paths)
            except SigningKeyError as err:
                raise Failure("retry", "no_signing_key", None, str(err)) from err
        return self._keys
