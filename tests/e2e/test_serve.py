"""The service as a user starts it: `fhir-adapter db upgrade`, `clients add`, `serve`; then the README's
first requests over real HTTP. The server's whole output is checked for patient data afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, read_json

BIN = Path(sys.executable).parent / "fhir-adapter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path):
    env = os.environ | {"FHIR_ADAPTER_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}"}
    port = free_port()
    subprocess.run([BIN, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    added = subprocess.run(
        [BIN, "clients", "add", "--org", "demo", "--scopes", "system/*.read system/*.write"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    token = added.stdout.strip().splitlines()[-1]
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - read back after the server stops
    server = subprocess.Popen(
        [BIN, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail("fhir-adapter serve did not answer /health within 10 s")
    yield base, {"Authorization": f"Bearer {token}"}
    server.terminate()
    server.wait(timeout=10)
    log.seek(0)
    output = log.read()
    log.close()
    for canary in ("Zzyzxcanary", "CANARY-MRN-77", "CL-CANARY"):
        assert canary not in output, f"{canary} in the server's output"


def test_the_readme_requests(served):
    base, auth = served
    case = read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json")
    client = case["client"] | {
        "id": "CL-CANARY",
        "names": [{"family": "Zzyzxcanary", "given": ["Min"]}],
        "identifiers": [{"system": "urn:oid:1.2.3", "value": "CANARY-MRN-77"}],
    }
    created = requests.post(f"{base}/api/v1/clients", json=client, headers=auth, timeout=10)
    assert created.status_code == 201 and created.headers["Location"] == "/api/v1/clients/CL-CANARY"
    plan = case["service_plans"][0] | {"client_id": "CL-CANARY", "episode_id": None}
    plan = {k: v for k, v in plan.items() if v is not None}
    assert (
        requests.post(f"{base}/api/v1/service-plans", json=plan, headers=auth, timeout=10).status_code == 201
    )
    found = requests.get(f"{base}/fhir/Patient", params={"identifier": "CL-CANARY"}, headers=auth, timeout=10)
    assert found.headers["Content-Type"] == "application/fhir+json" and found.json()["total"] == 1
    pid = found.json()["entry"][0]["resource"]["id"]
    plans = requests.get(
        f"{base}/fhir/CarePlan",
        params={"patient": pid, "_include": "CarePlan:goal"},
        headers=auth,
        timeout=10,
    ).json()
    assert plans["total"] == 1 and len(plans["entry"]) == 1 + len(plan["goals"])
    refused = requests.get(f"{base}/api/v1/clients/CL-CANARY-none", headers=auth, timeout=10)
    assert refused.status_code == 404 and refused.json()["resourceType"] == "OperationOutcome"
    assert requests.get(f"{base}/api/v1/clients", timeout=10).status_code == 401
    assert requests.get(f"{base}/api/v1/openapi.json", timeout=10).json()["openapi"] == "3.1.0"
    docs = requests.get(f"{base}/api/v1/docs", timeout=10)
    assert docs.status_code == 200 and "<script" not in docs.text and "/api/v1/service-plans" in docs.text
    assert requests.get(f"{base}/fhir/metadata", timeout=10).json()["resourceType"] == "CapabilityStatement"
