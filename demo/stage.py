"""What the story runs on: var/demo/, the stand-in EHR, the service's processes and an API client for
them; set up in the first steps, kept running on request and stopped in order at the end."""

from __future__ import annotations

import secrets
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import requests

from demo.api import Api
from demo.console import Console, DemoError
from demo.hospital import MRN_AUTHORITY, MRN_SYSTEM
from demo.processes import ROOT, Service, free_port, run, service_env

VAR = ROOT / "var" / "demo"
DATABASE = VAR / "fhir-adapter.db"
ORG = "demo-org"
EHR_ID = "hospital"
PERSON = "demo-planner"  # signs in to the workspace (an admin: sees the delivery problems too)
WAIT = 60.0  # seconds each wait may take before the demo gives up


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


class Stage:
    def __init__(self, steps: int) -> None:
        self.out = Console(steps)
        self.services: list[Service] = []
        self.ehr: Any = None
        self.api: Api | None = None
        self.base = ""
        self.token = ""
        self.password = ""
        self.mllp_port = 0

    # --- the first steps ---

    def fresh_state(self) -> None:
        self.out.step("A fresh start")
        if VAR.exists():
            shutil.rmtree(VAR)
        VAR.mkdir(parents=True)
        self.out.say(
            f"{rel(VAR)}/ emptied: this run's SQLite database and the logs of every process go there"
        )

    def start_ehr(self) -> None:
        self.out.step("Start the stand-in hospital EHR (a real FHIR R4 server, tests/ehr)")
        from tests.support.ehr_server import node_available, start_ehr

        why = node_available()
        if why:
            raise DemoError(f"the stand-in EHR cannot run: {why}")
        try:
            self.ehr = start_ehr()
        except RuntimeError as err:
            raise DemoError(str(err)) from err
        self.out.say(f"FHIR base {self.ehr.url}  (node, pid {self.ehr.process.pid}; in memory, empty)")

    def set_up(self) -> dict[str, str]:
        self.out.step("Set up the service: database, an API client, the hospital's EHR")
        env = service_env(DATABASE, poll_seconds="0.1", retry_base_seconds="0.5", retry_cap_seconds="2")
        self.out.say(f"FHIR_ADAPTER_DATABASE_URL=sqlite:///{rel(DATABASE)}  FHIR_ADAPTER_POLL_SECONDS=0.1")
        self.out.say("$ fhir-adapter db upgrade")
        self.out.say("  " + run(env, "db", "upgrade").strip())
        scopes = "system/*.read system/*.write"
        self.out.say(f"$ fhir-adapter clients add --org {ORG} --name demo-case-manager --scopes '{scopes}'")
        said = run(env, "clients", "add", "--org", ORG, "--name", "demo-case-manager", "--scopes", scopes)
        lines = [line for line in said.splitlines() if line.strip()]
        self.token = lines[-1].strip()
        self.out.say(f"  {lines[0]}")
        self.out.say(f"  token (printed once): {self.token[:12]}… (in full at the end)")
        self.password = secrets.token_urlsafe(12)
        person = ["users", "add", PERSON, "--org", ORG, "--role", "admin", "--password-stdin"]
        self.out.say(f"$ fhir-adapter {' '.join(person)}    (a person, for the workspace at /app/)")
        self.out.say("  " + run(env, *person, stdin=self.password + "\n").strip())
        add = ["ehrs", "add", EHR_ID, "--org", ORG, "--base-url", self.ehr.url]
        add += ["--mrn-system", MRN_SYSTEM, "--mrn-authority", MRN_AUTHORITY]
        self.out.say(f"$ fhir-adapter {' '.join(add)}")
        self.out.say("  " + run(env, *add).strip())
        return env

    def start_service(self, env: dict[str, str]) -> None:
        self.out.step("Start the service: the web app with its delivery worker, and the MLLP listener")
        port = free_port()
        serve = self._start("fhir-adapter serve", env, "serve.log", "serve", "--port", str(port))
        self.base = f"http://127.0.0.1:{port}"

        def healthy() -> tuple[bool | None, str]:
            if not serve.alive():
                raise serve.died()
            try:
                ok = requests.get(f"{self.base}/health", timeout=1).status_code == 200
            except requests.RequestException:
                ok = False
            return (True, "answering") if ok else (None, "starting")

        self.out.wait("fhir-adapter serve", healthy, WAIT)
        self.out.say(
            f"$ fhir-adapter serve --port {port}    pid {serve.pid}, {self.base}, log {rel(serve.log)}"
        )
        mllp = self._start(
            "fhir-adapter mllp", env, "mllp.log", "mllp", "--org", ORG, "--ehr", EHR_ID, "--port", "0"
        )
        found = mllp.wait_for_line(r"MLLP listening on [\d.]+:(\d+)", WAIT)
        self.mllp_port = int(found.group(1))
        self.out.say(
            f"$ fhir-adapter mllp --org {ORG} --ehr {EHR_ID} --port 0    pid {mllp.pid}, "
            f"127.0.0.1:{self.mllp_port}, log {rel(mllp.log)}"
        )
        self.api = Api(self.base, self.token)

    def _start(self, name: str, env: dict[str, str], log: str, *args: str) -> Service:
        service = Service.start(name, env, VAR / log, *args)
        self.services.append(service)
        return service

    # --- while running and at the end ---

    def keep_running(self) -> None:
        print("\nEverything keeps running: press Ctrl-C to stop it.", flush=True)
        try:
            while True:
                for service in self.services:
                    if not service.alive():
                        time.sleep(1)  # a Ctrl-C that stopped it too is not a failure
                        raise service.died()
                if self.ehr.process.poll() is not None:
                    time.sleep(1)
                    raise DemoError(f"the stand-in EHR exited with status {self.ehr.process.returncode}")
                time.sleep(0.5)
        except KeyboardInterrupt:
            print(flush=True)

    def stop(self) -> bool:
        """Stop every process, the last started first; True when each stopped cleanly."""
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C does not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        if self.api is not None:
            self.api.close()
        if not self.services and self.ehr is None:
            return True
        print("\nStopping:", flush=True)
        clean = True
        for service in reversed(self.services):
            was_running = service.alive()
            code = service.stop()
            ok = code in (0, -signal.SIGINT) or not was_running
            clean &= ok
            how = "stopped" if was_running else f"had already exited (status {code})"
            self.out.say(f"{service.name} (pid {service.pid}) {how}" + ("" if ok else f", status {code}"))
        self.services.clear()
        if self.ehr is not None:
            pid = self.ehr.process.pid
            self.ehr.stop()
            self.out.say(f"the stand-in EHR (pid {pid}) stopped")
            self.ehr = None
        return clean

    # --- helpers ---

    def answers(self, url: str) -> str:
        """Nothing when the URL answers 200 (with the token, for ours); else a note saying what it did."""
        headers = self.http().session.headers if url.startswith(self.base) else {}
        try:
            status = requests.get(url, headers=headers, timeout=10).status_code
        except requests.RequestException as err:
            return f"  (does not answer: {type(err).__name__})"
        return "" if status == 200 else f"  (answers HTTP {status} right now: see {rel(VAR)}/serve.log)"

    def http(self) -> Api:
        if self.api is None:
            raise DemoError("the service is not running")
        return self.api
