"""Every read and write of patient data leaves an AuditEvent; the logs never carry patient data."""

from __future__ import annotations

import copy
import logging

from fhir_adapter import logs
from fhir_adapter.app import create_app
from fhir_adapter.mapping.validation import validate_resource
from tests.integration.conftest import patient_id, seed
from tests.integration.delivery.conftest import proxy  # noqa: F401 - the fault proxy before the EHR
from tests.integration.events.conftest import MRN, VISIT, Hospital, hospital  # noqa: F401
from tests.support import adt


def test_reads_writes_and_refusals_are_audited(client, new_org, kim, catalogue):
    headers = new_org()
    seed(client, headers, kim)
    pid = patient_id(client, headers, kim["client"]["id"])
    plan = client.get(f"/fhir/CarePlan?patient={pid}", headers=headers).json["entry"][0]["resource"]
    client.get(f"/fhir/CarePlan/{plan['id']}", headers=headers)
    client.get(f"/fhir/CarePlan/{plan['id']}", headers=new_org("system/Goal.read", new_org.org_id))
    events = client.get(f"/fhir/AuditEvent?patient={pid}", headers=headers).json
    assert events["total"] >= 10  # the seeding writes, the searches, the reads and the refused read
    newest = [e["resource"] for e in events["entry"]]
    read = newest[0]
    latest = client.get("/fhir/AuditEvent?_count=3", headers=headers).json["entry"]
    refused = next(e["resource"] for e in latest if e["resource"]["outcome"] != "0")
    assert refused["entity"] == [{"what": {"reference": f"CarePlan/{plan['id']}"}}]
    assert refused["outcome"] == "4" and refused["action"] == "R" and "403" in refused["outcomeDesc"]
    assert read["outcome"] == "0" and read["subtype"][0]["code"] == "read"
    assert {"what": {"reference": f"CarePlan/{plan['id']}"}} in read["entity"]
    assert {"what": {"reference": f"Patient/{pid}"}} in read["entity"]
    assert read["agent"][0]["network"]["address"] == "127.0.0.1"
    for event in newest:
        assert [i for i in validate_resource(event, catalogue) if i.severity == "error"] == []
    writes = client.get(f"/fhir/AuditEvent?patient={pid}&action=C", headers=headers).json
    assert writes["total"] == 1 + sum(
        len(kim[k]) for k in ("episodes", "assessments", "service_plans", "referrals")
    )
    one = client.get(f"/fhir/AuditEvent/{read['id']}", headers=headers)
    assert one.status_code == 200 and one.json == read
    assert client.get("/fhir/AuditEvent?date=ge2999-01-01", headers=headers).json["total"] == 0
    first_page = client.get(f"/fhir/AuditEvent?patient={pid}&_count=2", headers=headers).json
    following = next(link["url"] for link in first_page["link"] if link["relation"] == "next")
    assert f"patient={pid}" in following and "_offset=2" in following
    assert client.get("/fhir/AuditEvent", headers=new_org("system/*.read", new_org.org_id)).status_code == 403


CANARIES = ("Zzyzxcanary", "Qwertyunique", "CANARY-MRN-55501", "CANARY-CL-9931", "1931-02-03")


def test_no_patient_data_in_the_logs(service, new_org, kim, capsys):
    app = create_app(services=service)  # logs go to this test's captured stderr
    client = app.test_client()
    headers = new_org()
    case = copy.deepcopy(kim)
    case["client"] |= {
        "id": "CANARY-CL-9931",
        "birth_date": "1931-02-03",
        "names": [{"family": "Zzyzxcanary", "given": ["Qwertyunique"]}],
        "identifiers": [{"system": "urn:oid:1.2.3.4", "value": "CANARY-MRN-55501"}],
    }
    for key in ("episodes", "assessments", "service_plans", "referrals"):
        for record in case[key]:
            record["client_id"] = "CANARY-CL-9931"
    seed(client, headers, case)
    pid = patient_id(client, headers, "CANARY-CL-9931")
    client.get("/api/v1/clients/CANARY-CL-9931", headers=headers)
    client.get("/api/v1/clients/CANARY-CL-9931-missing", headers=headers)
    client.put(
        "/api/v1/clients/CANARY-CL-9931", json=case["client"] | {"gender": "Zzyzxcanary"}, headers=headers
    )
    client.post("/api/v1/clients", json=case["client"], headers=headers)
    client.get("/fhir/Patient?identifier=CANARY-MRN-55501", headers=headers)
    client.get("/fhir/Patient?identifier=CANARY-MRN-55501&name=Zzyzxcanary", headers=headers)
    client.get(f"/fhir/Patient/{pid}", headers=headers)
    client.post(
        "/fhir/$validate",
        json={"resourceType": "Patient", "name": [{"family": "Zzyzxcanary"}], "birthDate": "1931-02-31"},
        headers=headers,
    )
    client.post("/api/v1/clients", data="Zzyzxcanary", headers=headers | {"Content-Type": "text/plain"})
    client.get("/api/v1/clients/CANARY-CL-9931", headers={"Authorization": "Bearer CANARY-MRN-55501"})
    logs = capsys.readouterr().err
    assert '"route": "/api/v1/clients/<record_id>"' in logs and '"status": 404' in logs
    for canary in CANARIES:
        assert canary not in logs, canary


class Everything(logging.Handler):
    """Every record that reaches the root logger, as any handler there would render it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {self.format(record)}")


def test_no_patient_data_in_the_logs_at_debug_through_admission_delivery_and_read_back(
    hospital: Hospital,  # noqa: F811
    capsys,
):
    """The whole round trip at DEBUG, every library's lines included: an ADT A01, the delivery to the EHR
    (whose HTTP client logs each request's URL at DEBUG: MRN and visit number in the query), the A03 and the
    read-back, and searches of our FHIR endpoint by MRN."""
    logs.configure("DEBUG")
    everything = Everything()
    logging.getLogger().addHandler(everything)
    try:
        hospital.adt(adt.message("A01", hospital.visit()))
        hospital.h.drain()
        hospital.adt(adt.message("A03", hospital.visit(), disposition="01^Discharged to home"))
        hospital.h.drain()
        found = hospital.get(f"/fhir/Patient?identifier={MRN}")["entry"]
        ours = found[0]["resource"]["id"]
        hospital.get(f"/fhir/CarePlan?patient={ours}&_include=CarePlan:goal")
        hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")
    finally:
        logging.getLogger().removeHandler(everything)
        logs.configure("INFO")
    assert len(hospital.in_ehr("CarePlan")) == 1  # the round trip did happen
    captured = capsys.readouterr()
    written = captured.err + captured.out + "\n".join(everything.lines)
    assert '"event": "delivery.done"' in written and '"event": "delivery.read_back"' in written
    for canary in (MRN, VISIT, hospital.client_id, "Seo-yeon", "1987-04-12", "19870412", "+1-217-555-0148"):
        assert canary not in written, (canary, [line for line in written.splitlines() if canary in line][:3])
