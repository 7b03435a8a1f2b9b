"""The stand-in EHR (tests/ehr/server.js, medplum's FHIR router over memory) run as a child process, in one
of its profiles: full, no-transaction or restrictive (what each allows is in server.js)."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from tests.support.processes import stop

ROOT = Path(__file__).resolve().parents[2]
EHR_DIR = ROOT / "tests" / "ehr"
SERVER_JS = EHR_DIR / "server.js"
START_TIMEOUT = 20.0
PROFILES = ("full", "no-transaction", "restrictive")
HOSPITAL = {"x-stand-in-hospital": "1"}  # the hospital's own requests: not limited, not recorded


def _hospital_session() -> requests.Session:
    session = requests.Session()
    session.headers.update(HOSPITAL)
    return session


def node_available() -> str | None:
    """Why the EHR cannot run here (a reason for pytest.skip), or None when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH: install Node.js (>= 20) to run the stand-in EHR"
    if not (EHR_DIR / "node_modules").is_dir():
        return "tests/ehr/node_modules is missing: run `npm ci --prefix tests/ehr`"
    return None


@dataclass
class EhrServer:
    """A running EHR: its base URL and the means to clear, search and stop it."""

    process: subprocess.Popen[str]
    url: str
    stderr: IO[bytes]
    reader: threading.Thread
    profile: str = "full"
    session: requests.Session = field(default_factory=_hospital_session)

    def reset(self) -> None:
        """Forget every resource (POST /$reset)."""
        self.session.post(f"{self.url}/$reset", timeout=10).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """What was asked of the server since the last reset, other than by the hospital: method, url
        (relative to the base), conditional headers, body."""
        response = self.session.get(f"{self.url}/$requests", timeout=10)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def search(self, resource_type: str, **params: Any) -> list[dict[str, Any]]:
        """The resources of one search page (asks for 1000; does not follow paging)."""
        response = self.session.get(
            f"{self.url}/{resource_type}", params={**params, "_count": 1000}, timeout=10
        )
        response.raise_for_status()
        return [entry["resource"] for entry in response.json().get("entry", []) if "resource" in entry]

    def everything(self) -> list[dict[str, Any]]:
        """Every current resource of every type the server's CapabilityStatement lists."""
        statement = self.session.get(f"{self.url}/metadata", timeout=10).json()
        types = [r["type"] for r in statement["rest"][0]["resource"]]
        return [resource for rtype in types for resource in self.search(rtype)]

    def dangling(
        self, held: list[dict[str, Any]], of: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> list[tuple[str, str, str]]:
        """Every literal reference in `held` (all the server holds; those `of` picks) that does not resolve
        there, as (the resource holding it, its path, the reference). A versioned reference must vread; a
        plain one must name one of `held`."""
        present = {f"{r['resourceType']}/{r['id']}" for r in held}
        missing = []
        for resource in filter(of, held):
            for path, ref in literal_references(resource):
                if "/_history/" in ref:
                    found = self.session.get(f"{self.url}/{ref}", timeout=10).status_code == 200
                else:
                    found = ref in present
                if not found:
                    missing.append((f"{resource['resourceType']}/{resource['id']}", path, ref))
        return missing

    def put(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Write a resource as someone in the hospital would."""
        url = f"{self.url}/{resource['resourceType']}/{resource['id']}"
        response = self.session.put(url, json=resource, timeout=10)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stop the process and release its pipes; safe to call twice."""
        self.session.close()
        stop(self.process)
        self.reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()


def literal_references(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, reference) for each relative literal reference ("Type/id", "Type/id/_history/v") in a
    resource; contained (#...) and absolute or urn: references are not the server's to resolve."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and "/" in ref and not ref.startswith(("#", "urn:", "http:", "https:")):
            found.append((path, ref))
        for key, item in value.items():
            found += literal_references(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            found += literal_references(item, path)
    return found


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    """Hand the first line on, then drain stdout so the child never blocks on a full pipe."""
    first = stream.readline()
    lines.put(first)
    for _ in stream:
        pass


def _failure(process: subprocess.Popen[str], stderr: IO[bytes], why: str) -> RuntimeError:
    stop(process)
    stderr.seek(0)
    detail = stderr.read().decode("utf-8", "replace").strip()
    return RuntimeError(f"the stand-in EHR did not start ({why}); stderr:\n{detail or '(empty)'}")


def start_ehr(env: dict[str, str] | None = None, profile: str = "full") -> EhrServer:
    """Run `node tests/ehr/server.js 0 PROFILE` and wait (20 s at most) for it to print its port."""
    assert profile in PROFILES, profile
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by EhrServer.stop or on failure
    process = subprocess.Popen(
        ["node", str(SERVER_JS), "0", profile],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True, name="ehr-stdout")
    reader.start()
    try:
        first = lines.get(timeout=START_TIMEOUT)
    except queue.Empty:
        first = None
    words = (first or "").split()
    if len(words) != 2 or words[0] != "listening" or not words[1].isdigit():
        error = _failure(
            process, stderr, f"no port after {START_TIMEOUT:.0f} s" if first is None else repr(first)
        )
        reader.join(timeout=5)
        process.stdout.close()
        stderr.close()
        raise error
    url = f"http://127.0.0.1:{words[1]}"
    return EhrServer(process=process, url=url, stderr=stderr, reader=reader, profile=profile)
