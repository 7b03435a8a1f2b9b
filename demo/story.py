"""The demo's thirteen steps in order: the hospital stay told from both sides, each step saying what it does
and checking what it shows."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from demo import hospital
from demo.console import DemoError
from demo.formatting import job_states, referral_row, resource_row, timeline_row
from demo.hospital import ENCOUNTER, MRN_SYSTEM, PATIENT, VISIT
from demo.processes import ROOT
from demo.stage import PERSON, VAR, WAIT, Stage, rel

STEPS = 13
SHOWN_IN_EHR = (
    "CarePlan",
    "Goal",
    "CareTeam",
    "QuestionnaireResponse",
    "Observation",
    "ServiceRequest",
    "Task",
)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


class Demo(Stage):
    def __init__(self) -> None:
        super().__init__(STEPS)
        self.case = read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json")
        self.client_id: str = self.case["client"]["id"]
        self.mrn: str = next(
            i["value"] for i in self.case["client"]["identifiers"] if i["system"] == MRN_SYSTEM
        )
        now = datetime.now(UTC).replace(microsecond=0)
        self.admitted, self.discharged = now - timedelta(days=3, hours=2), now

    # --- the story ---

    def run(self) -> None:
        print("fhir-adapter demo: a client of a case-management organisation is admitted to hospital and")
        print("discharged; her case record goes to the hospital's EHR and the discharge plan comes back.")
        self.fresh_state()
        self.start_ehr()
        env = self.set_up()
        self.start_service(env)
        self.hospital_knows_the_patient()
        self.case_record()
        self.admit()
        self.show_what_arrived()
        self.hospital_refers()
        self.discharge()
        self.show_what_came_back()
        self.show_where_to_look()

    def hospital_knows_the_patient(self) -> None:
        self.out.step("The hospital: the patient and her stay are in its EHR")
        client = self.case["client"]
        name = next(n for n in client["names"] if n.get("use") == "usual")
        hospital.ehr_put(self.ehr, hospital.patient(client, name, self.mrn))
        hospital.ehr_put(self.ehr, hospital.encounter(self.admitted))
        self.out.table(
            [
                (f"Patient/{PATIENT}", f"{name['text']}, MRN {self.mrn} ({MRN_SYSTEM})"),
                (f"Encounter/{ENCOUNTER}", f"visit {VISIT}, inpatient, in-progress"),
            ]
        )

    def case_record(self) -> None:
        self.out.step("The case manager: the client's case record, through the HTTP API")
        case = copy.deepcopy(self.case)
        client, episode, assessment = case["client"], case["episodes"][0], case["assessments"][0]
        plan, referral = case["service_plans"][0], case["referrals"][0]
        referral["status"] = "sent"  # sent to the housing authority, not yet answered
        referral.pop("status_changed_at", None)
        name = next(n for n in client["names"] if n.get("use") == "usual")
        rows = [
            ("clients", client, f"{name['text']}, {self.mrn} at {client['identifiers'][0]['assigner']}"),
            (
                "episodes",
                episode,
                f"{episode['case_type']} case, case manager {episode['case_manager']['name']}",
            ),
            ("assessments", assessment, f"{assessment['kind']} of {assessment['date'][:10]}"),
            (
                "service-plans",
                plan,
                f'"{plan["title"]}": {len(plan["goals"])} goals, {len(plan["activities"])} activities',
            ),
            (
                "referrals",
                referral,
                f"{referral['service_type']} to {referral['target']['name']}, status sent",
            ),
        ]
        table: list[tuple[str, ...]] = []
        for collection, record, what in rows:
            self.http().post(f"/api/v1/{collection}", record)
            table.append((f"POST /api/v1/{collection}", "201", record["id"], what))
        self.out.table(table)
        queued = self.http().get("/api/v1/deliveries", client_id=self.client_id)["items"]
        self.out.say(f"deliveries queued: {len(queued)} (she is not in hospital, nothing is sent yet)")

    def admit(self) -> None:
        self.out.step("The hospital admits her: ADT^A01 over MLLP")
        visit = self.visit()
        self.out.say(f"to 127.0.0.1:{self.mllp_port}:")
        hospital.send(self.out, self.mllp_port, hospital.admission(visit))
        self.out.wait("sending her case record to the EHR", self.delivered_to_ehr, WAIT)

    def delivered_to_ehr(self) -> tuple[bool | None, str]:
        jobs = self.http().get("/api/v1/deliveries", client_id=self.client_id)["items"]
        self.no_dead_letters(jobs)
        plans = self.ehr.search("CarePlan", patient=f"Patient/{PATIENT}")
        state = f"{job_states(jobs)}; CarePlan in the EHR: {'yes' if plans else 'not yet'}"
        done = plans and jobs and not any(j["state"] in ("pending", "leased") for j in jobs)
        return (True if done else None), state

    def show_what_arrived(self) -> None:
        self.out.step("What arrived in the EHR")
        rows = []
        for rtype in SHOWN_IN_EHR:
            for resource in self.ehr.search(rtype, patient=f"Patient/{PATIENT}"):
                rows.append(resource_row(rtype, resource))
        if not any(r[0] == "CarePlan" for r in rows):
            raise DemoError("the EHR holds no CarePlan for the patient")
        self.out.table([("type", "id", "what", "encounter"), *rows])
        plan = next(r for r in rows if r[0] == "CarePlan")
        if plan[3] != f"Encounter/{ENCOUNTER}":
            raise DemoError(f"the CarePlan is not linked to Encounter/{ENCOUNTER} but to {plan[3]}")
        self.out.say(
            f"every resource names Patient/{PATIENT}; the CarePlan is linked to Encounter/{ENCOUNTER}"
        )

    def hospital_refers(self) -> None:
        self.out.step("During her stay the hospital orders outpatient physical therapy (a ServiceRequest)")
        fixture = read_json(ROOT / "fixtures" / "ehr" / "servicerequest-pt-discharge.json")
        request = hospital.service_request(fixture, self.discharged)
        hospital.ehr_put(self.ehr, request)
        performer = request["performer"][0]["display"]
        self.out.table(
            [
                (f"ServiceRequest/{request['id']}", request["code"]["text"]),
                ("", f"to {performer}, {request['priority']}, {request['quantityQuantity']['value']} visits"),
            ]
        )
        self.out.step("Before she leaves it writes her discharge summary (a PDF) and books a follow-up visit")
        fixtures = ROOT / "fixtures" / "ehr"
        summary = hospital.discharge_summary(
            read_json(fixtures / "documentreference-discharge-summary-inline.json"), self.discharged
        )
        visit = hospital.follow_up(
            read_json(fixtures / "appointment-follow-up-respiratory.json"), self.discharged
        )
        for resource in (summary, visit):
            hospital.ehr_put(self.ehr, resource)
        self.out.table(
            [
                (f"DocumentReference/{summary['id']}", summary["type"]["text"]),
                (
                    f"Appointment/{visit['id']}",
                    f"{visit['description']}, {visit['start'][:16].replace('T', ' ')}",
                ),
            ]
        )

    def discharge(self) -> None:
        self.out.step("The hospital discharges her home: ADT^A03 over MLLP")
        a03 = hospital.discharge(self.visit(), self.discharged)
        self.out.say(f"to 127.0.0.1:{self.mllp_port}:")
        hospital.send(self.out, self.mllp_port, a03)
        self.out.wait("reading the discharge back from the EHR", self.read_back, WAIT)

    def read_back(self) -> tuple[dict[str, Any] | None, str]:
        timeline = self.http().get(f"/api/v1/clients/{self.client_id}/timeline")
        admission = (timeline["admissions"] or [{}])[-1]
        jobs = [e for e in timeline["entries"] if "job" in e]
        self.no_dead_letters(jobs)
        pulls = [e for e in jobs if e["what"] == "read back"]
        applied = [e for e in timeline["entries"] if e["what"] == "read back" and e.get("state") == "applied"]
        state = (
            f"admission {admission.get('state', '?')}; read-back job "
            f"{pulls[-1]['state'] if pulls else 'not queued'}; {len(applied)} applied"
        )
        done = (
            admission.get("state") == "discharged"
            and pulls
            and all(e["state"] not in ("pending", "leased") for e in jobs)
            and applied
        )
        return (timeline if done else None), state

    def show_what_came_back(self) -> None:
        self.out.step("What came back into the case record")
        timeline = self.http().get(f"/api/v1/clients/{self.client_id}/timeline")
        admission = timeline["admissions"][-1]
        disposition = admission.get("disposition") or {}
        self.out.say(
            f"admission {admission['visit']} ({admission.get('encounter', 'no encounter')}): "
            f"{admission['state']} at {admission.get('discharged_at', '?')[:19].replace('T', ' ')} UTC"
        )
        self.out.say(
            f"discharge disposition: {disposition.get('code', '?')} {disposition.get('display', '')}".rstrip()
        )
        self.out.say("")
        self.out.say(f"the timeline (GET /api/v1/clients/{self.client_id}/timeline):")
        self.out.table([timeline_row(e) for e in timeline["entries"]])
        self.out.say("")
        referrals = self.http().get("/api/v1/referrals", client_id=self.client_id)["items"]
        ours = {r["id"] for r in self.case["referrals"]}
        new = [r for r in referrals if r["id"] not in ours]
        if not new:
            raise DemoError("the hospital's referral is not in the case record")
        self.out.say(f"the client's referrals now (GET /api/v1/referrals?client_id={self.client_id}):")
        self.out.table([referral_row(r, r["id"] not in ours) for r in referrals])
        self.show_the_packet()

    def show_the_packet(self) -> None:
        documents = self.http().get("/api/v1/documents", client_id=self.client_id)["items"]
        appointments = self.http().get("/api/v1/appointments", client_id=self.client_id)["items"]
        if not documents or not appointments:
            raise DemoError("the discharge summary or the follow-up appointment is not in the case record")
        self.out.say("")
        self.out.say("the discharge packet (GET /api/v1/documents, /api/v1/appointments):")
        rows = [
            (f"document {d['id']}", f"{self.base}/api/v1/documents/{d['id']}/content (the PDF)")
            for d in documents
        ]
        rows += [
            (f"appointment {a['id']}", f"{a.get('description', '')}, {a.get('start', '?')[:16]}")
            for a in appointments
        ]
        self.out.table(rows)

    def show_where_to_look(self) -> None:
        self.out.step("Look around")
        ours = self.http().get("/fhir/Patient", identifier=self.client_id)["entry"][0]["resource"]["id"]
        rows = [
            ("the workspace", f"{self.base}/app/clients/{self.client_id}"),
            ("the timeline", f"{self.base}/api/v1/clients/{self.client_id}/timeline"),
            ("inbound messages", f"{self.base}/api/v1/inbound"),
            ("deliveries", f"{self.base}/api/v1/deliveries"),
            ("our FHIR view", f"{self.base}/fhir/CarePlan?patient={ours}"),
            ("the API's docs", f"{self.base}/api/v1/docs"),
            ("the EHR's copy", f"{self.ehr.url}/CarePlan?patient=Patient/{PATIENT}"),
            ("", f"{self.ehr.url}/ServiceRequest?patient=Patient/{PATIENT}"),
            ("", f"{self.ehr.url}/Encounter/{ENCOUNTER}"),
        ]
        self.out.table([(label, url + self.answers(url)) for label, url in rows])
        self.out.say("")
        self.out.say(
            f"the workspace, in a browser: {self.base}/app/  sign in as {PERSON}, password {self.password}"
        )
        self.out.say("the service's other URLs (not the docs, not the EHR's) need the bearer token:")
        self.out.say(f"  TOKEN={self.token}")
        self.out.say(
            f'  curl -H "Authorization: Bearer $TOKEN" {self.base}/api/v1/clients/{self.client_id}/timeline'
        )
        self.out.say(f"logs: {rel(VAR)}/serve.log, {rel(VAR)}/mllp.log")

    # --- helpers ---

    def visit(self) -> Any:
        return hospital.adt_visit(self.case["client"], self.mrn, self.admitted)

    @staticmethod
    def no_dead_letters(jobs: list[dict[str, Any]]) -> None:
        dead = [j for j in jobs if j.get("state") == "dead"]
        if dead:
            why = "; ".join(f"job {j.get('id', j.get('job'))}: {j.get('reason', '?')}" for j in dead)
            raise DemoError(f"a delivery failed for good (a dead letter): {why}")
