"""`python -m demo [--keep]`: a client admitted to hospital and discharged, end to end, with real processes.

See demo/__init__.py for the story; `make demo` runs it."""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import signal
import sys
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import requests

from demo.api import Api
from demo.console import Console, DemoError
from demo.processes import ROOT, Service, free_port, run, service_env

VAR = ROOT / "var" / "demo"
DATABASE = VAR / "fhir-adapter.db"
ORG = "demo-org"
EHR_ID = "hospital"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.7"
MRN_AUTHORITY = "RGH"
VISIT_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.9"
VISIT = "V1001"
PATIENT = "rgh-pt-448812"  # the EHR's own ids for Kim and her stay
ENCOUNTER = "rgh-enc-v1001"
STEPS = 12
WAIT = 60.0  # seconds each wait may take before the demo gives up
SHOWN_IN_EHR = (
    "CarePlan",
    "Goal",
    "CareTeam",
    "QuestionnaireResponse",
    "Observation",
    "ServiceRequest",
    "Task",
)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def concept(value: Any) -> str:
    """A CodeableConcept's text, or its first coding's display."""
    if not isinstance(value, dict):
        return ""
    return str(value.get("text") or (value.get("coding") or [{}])[0].get("display", ""))


def hl7_time(at: datetime) -> str:
    return at.strftime("%Y%m%d%H%M%S+0000")


class Demo:
    def __init__(self) -> None:
        self.out = Console(STEPS)
        self.services: list[Service] = []
        self.ehr: Any = None
        self.api: Api | None = None
        self.base = ""
        self.token = ""
        self.mllp_port = 0
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

    def hospital_knows_the_patient(self) -> None:
        self.out.step("The hospital: the patient and her stay are in its EHR")
        client = self.case["client"]
        name = next(n for n in client["names"] if n.get("use") == "usual")
        self.ehr_put(
            {
                "resourceType": "Patient",
                "id": PATIENT,
                "identifier": [{"system": MRN_SYSTEM, "value": self.mrn}],
                "name": [{"family": name["family"], "given": name["given"]}],
                "gender": client["gender"],
                "birthDate": client["birth_date"],
            }
        )
        self.ehr_put(
            {
                "resourceType": "Encounter",
                "id": ENCOUNTER,
                "status": "in-progress",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                "identifier": [{"system": VISIT_SYSTEM, "value": VISIT}],
                "subject": {"reference": f"Patient/{PATIENT}"},
                "period": {"start": self.admitted.isoformat()},
            }
        )
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
        from tests.support import adt

        visit = self.visit()
        self.out.say(f"to 127.0.0.1:{self.mllp_port}:")
        self.send(adt.message("A01", visit, control_id="DEMO-A01"))
        self.out.wait("sending her case record to the EHR", self.delivered_to_ehr, WAIT)

    def delivered_to_ehr(self) -> tuple[bool | None, str]:
        jobs = self.http().get("/api/v1/deliveries", client_id=self.client_id)["items"]
        self.no_dead_letters(jobs)
        plans = self.ehr.search("CarePlan", patient=f"Patient/{PATIENT}")
        state = f"{self.job_states(jobs)}; CarePlan in the EHR: {'yes' if plans else 'not yet'}"
        done = plans and jobs and not any(j["state"] in ("pending", "leased") for j in jobs)
        return (True if done else None), state

    def show_what_arrived(self) -> None:
        self.out.step("What arrived in the EHR")
        rows = []
        for rtype in SHOWN_IN_EHR:
            for resource in self.ehr.search(rtype, patient=f"Patient/{PATIENT}"):
                rows.append((rtype, resource["id"], short(self.about(resource), 48), self.linked(resource)))
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
        request = read_json(ROOT / "fixtures" / "ehr" / "servicerequest-pt-discharge.json")
        request.pop("meta", None)
        request["subject"] = {"reference": f"Patient/{PATIENT}"}
        request["encounter"] = {"reference": f"Encounter/{ENCOUNTER}"}
        request["authoredOn"] = (self.discharged - timedelta(hours=3)).isoformat()
        self.ehr_put(request)
        performer = request["performer"][0]["display"]
        self.out.table(
            [
                (f"ServiceRequest/{request['id']}", request["code"]["text"]),
                ("", f"to {performer}, {request['priority']}, {request['quantityQuantity']['value']} visits"),
            ]
        )

    def discharge(self) -> None:
        self.out.step("The hospital discharges her home: ADT^A03 over MLLP")
        from tests.support import adt

        a03 = adt.message(
            "A03",
            self.visit(),
            control_id="DEMO-A03",
            disposition="01^Discharged to home",
            discharged=hl7_time(self.discharged),
        )
        self.out.say(f"to 127.0.0.1:{self.mllp_port}:")
        self.send(a03)
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
        self.out.table([self.timeline_row(e) for e in timeline["entries"]])
        self.out.say("")
        referrals = self.http().get("/api/v1/referrals", client_id=self.client_id)["items"]
        ours = {r["id"] for r in self.case["referrals"]}
        new = [r for r in referrals if r["id"] not in ours]
        if not new:
            raise DemoError("the hospital's referral is not in the case record")
        self.out.say(f"the client's referrals now (GET /api/v1/referrals?client_id={self.client_id}):")
        self.out.table([self.referral_row(r, r["id"] not in ours) for r in referrals])

    def show_where_to_look(self) -> None:
        self.out.step("Look around")
        ours = self.http().get("/fhir/Patient", identifier=self.client_id)["entry"][0]["resource"]["id"]
        rows = [
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
        self.out.say("the service's URLs (not the docs, not the EHR's) need the bearer token:")
        self.out.say(f"  TOKEN={self.token}")
        self.out.say(
            f'  curl -H "Authorization: Bearer $TOKEN" {self.base}/api/v1/clients/{self.client_id}/timeline'
        )
        self.out.say(f"logs: {rel(VAR)}/serve.log, {rel(VAR)}/mllp.log")

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

    def visit(self) -> Any:
        from tests.support import adt

        name = next(n for n in self.case["client"]["names"] if n.get("use") == "usual")
        return adt.Visit(
            mrn=self.mrn,
            number=VISIT,
            authority=MRN_AUTHORITY,
            family=name["family"],
            given=name["given"][0],
            birth_date=self.case["client"]["birth_date"].replace("-", ""),
            sex="F",
            admitted=hl7_time(self.admitted),
        )

    def send(self, text: str) -> None:
        from tests.support import adt

        for segment in text.strip("\r").split("\r"):
            self.out.say(f"  {segment}")
        try:
            sender = adt.Sender(self.mllp_port)
            try:
                ack = sender.send(text)
            finally:
                sender.close()
        except OSError as err:
            raise DemoError(f"the MLLP listener on port {self.mllp_port} did not answer: {err}") from err
        code = adt.ack_code(ack)
        meaning = {"AA": "accepted", "AE": "error", "AR": "rejected"}.get(code, "?")
        self.out.say(f"ACK: {code} ({meaning})")
        if code != "AA":
            raise DemoError(f"the listener did not accept the message:\n{ack.replace(chr(13), chr(10))}")

    def ehr_put(self, resource: dict[str, Any]) -> None:
        try:
            self.ehr.put(resource)
        except requests.RequestException as err:
            raise DemoError(f"the EHR refused {resource['resourceType']}/{resource['id']}: {err}") from err

    @staticmethod
    def job_states(jobs: list[dict[str, Any]]) -> str:
        counts: dict[str, int] = {}
        for job in jobs:
            counts[job["state"]] = counts.get(job["state"], 0) + 1
        return "deliveries " + (", ".join(f"{n} {s}" for s, n in counts.items()) or "none yet")

    @staticmethod
    def no_dead_letters(jobs: list[dict[str, Any]]) -> None:
        dead = [j for j in jobs if j.get("state") == "dead"]
        if dead:
            why = "; ".join(f"job {j.get('id', j.get('job'))}: {j.get('reason', '?')}" for j in dead)
            raise DemoError(f"a delivery failed for good (a dead letter): {why}")

    @staticmethod
    def linked(resource: dict[str, Any]) -> str:
        encounter = resource.get("encounter")
        if not encounter:
            return "-" if resource["resourceType"] == "Goal" else "not linked"
        return str(encounter.get("reference") or encounter.get("display") or encounter)

    @staticmethod
    def about(resource: dict[str, Any]) -> str:
        """A few words on what a resource the EHR holds is."""
        rtype = resource["resourceType"]
        if rtype == "CarePlan":
            return f'"{resource.get("title", "")}"'
        if rtype == "Goal":
            return str(resource.get("description", {}).get("text", ""))
        if rtype == "CareTeam":
            return f"{len(resource.get('participant', []))} members"
        if rtype == "QuestionnaireResponse":
            return str(resource.get("questionnaire", "")).rsplit("/", 1)[-1].split("|")[0]
        if rtype == "Observation":
            return concept(resource.get("code"))
        if rtype == "ServiceRequest":
            value = (resource.get("identifier") or [{}])[0].get("value", "")
            return f"{value}: {concept(resource.get('code'))}"
        if rtype == "Task":
            return f"status {resource.get('status', '?')}"
        return ""

    @staticmethod
    def timeline_row(entry: dict[str, Any]) -> tuple[str, ...]:
        what = entry["what"]
        if "inbound" in entry:
            detail = entry.get("event") or entry.get("kind") or ""
            if entry.get("detail"):
                detail += f": {entry['detail']}"
        elif what == "read back":
            detail = f"job {entry['job']}: read from the EHR ({entry.get('cause', '')})"
        else:
            resources = entry.get("resources", [])
            detail = f"job {entry['job']}: {len(resources)} resources to the EHR ({entry.get('cause', '')})"
        return (entry["at"][:19].replace("T", " "), what, entry.get("state", ""), detail)

    @staticmethod
    def referral_row(referral: dict[str, Any], new: bool) -> tuple[str, ...]:
        to = (referral.get("target") or {}).get("name", "")
        note = referral.get("note") or (referral.get("reason") or {}).get("text", "")
        what = referral["service_type"] + (f" to {to}" if to else "")
        mark = "new, from the hospital" if new else "ours"
        return (referral["id"], what, referral["status"], mark, short(note, 60))


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep everything running until Ctrl-C")
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # a terminal without UTF-8 gets "?" for "…" and "✓"
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    # Ctrl-C stops the demo even when it was started with SIGINT ignored (in the background, say); the
    # processes it starts then take Ctrl-C as a request to stop cleanly too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminated)
    demo = Demo()
    failure = ""
    code = 0
    try:
        demo.run()
        if args.keep:
            demo.keep_running()
    except DemoError as err:
        failure, code = f"The demo failed: {err}\n(the processes' output is in {rel(VAR)}/)", 1
    except KeyboardInterrupt:
        failure, code = "Interrupted.", 130
    except Exception:
        failure, code = f"The demo failed unexpectedly:\n{traceback.format_exc().rstrip()}", 1
    finally:
        clean = demo.stop()
    if code == 0 and not clean:
        failure, code = "A process did not stop cleanly.", 1
    if failure:
        print(f"\n{failure}", file=sys.stderr, flush=True)
    else:
        print(f"\nDone in {demo.out.elapsed():.0f} s.")
    return code


if __name__ == "__main__":
    sys.exit(main())
