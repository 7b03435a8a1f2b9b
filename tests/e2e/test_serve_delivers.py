"""`fhir-adapter serve` on SQLite delivers by itself (the embedded worker of `make run`): an EHR added with
the CLI, a client linked to its patient through the API, and the plan arrives in the stand-in EHR. The
JWKS and the metrics are served without a token."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import requests

from tests.conftest import ROOT, read_json
from tests.e2e.test_serve import BIN, free_port
from tests.support.ehr_server import EhrServer


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([BIN, *args], env=env, check=True, capture_output=True, text=True, timeout=60)
    return done.stdout


def test_serve_runs_a_worker_that_delivers_to_the_ehr(tmp_path: Path, ehr: EhrServer) -> None:
    ehr.reset()
    env = os.environ | {
        "FHIR_ADAPTER_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}",
        "FHIR_ADAPTER_SIGNING_KEYS": str(tmp_path / "keys" / "assertion.pem"),
    }
    cli(env, "db", "upgrade")
    cli(env, "keys", "generate")
    token = cli(env, "clients", "add", "--org", "demo", "--scopes", "system/*.read system/*.write").split()[
        -1
    ]
    cli(env, "ehrs", "add", "general", "--org", "demo", "--base-url", ehr.url)
    port = free_port()
    with open(tmp_path / "serve.log", "w") as log:
        server = subprocess.Popen([BIN, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    try:
        wait_until(lambda: requests.get(f"{base}/health", timeout=1).status_code == 200)
        case = read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json")
        assert requests.post(f"{base}/api/v1/clients", json=case["client"], headers=auth, timeout=10).ok
        link = {"ehr": "general", "patient_id": "ehr-123", "mrn": "MRN-123"}
        linked = requests.post(
            f"{base}/api/v1/clients/CL-20417/ehr-links", json=link, headers=auth, timeout=10
        )
        assert linked.status_code == 201, linked.text
        plan = {k: v for k, v in case["service_plans"][0].items() if k != "episode_id"}
        assert requests.post(f"{base}/api/v1/service-plans", json=plan, headers=auth, timeout=10).ok
        # the EHR holds the plan a moment before the worker records the job as delivered
        wait_until(lambda: job_states(base, auth) == ["delivered"])
        assert len(ehr.search("CarePlan", subject="Patient/ehr-123")) == 1
        keys = requests.get(f"{base}/.well-known/jwks.json", timeout=10).json()["keys"]
        assert [k["alg"] for k in keys] == ["ES384"] and "d" not in keys[0]
        metrics = requests.get(f"{base}/metrics", timeout=10).text
        assert 'fhir_adapter_outbox_jobs{state="delivered"} 1.0' in metrics
    finally:
        server.terminate()
        server.wait(timeout=10)


def job_states(base: str, auth: dict[str, str]) -> list[str]:
    jobs = requests.get(f"{base}/api/v1/deliveries", headers=auth, timeout=10).json()["items"]
    return [j["state"] for j in jobs]


def wait_until(condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
