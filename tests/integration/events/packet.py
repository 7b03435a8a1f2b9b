"""The discharge packet as the hospital's EHR holds it during a stay: a discharge summary with its PDF
inline, another whose PDF is a Binary of the EHR's, and a follow-up appointment a week after discharge."""

from __future__ import annotations

import base64
import copy
from typing import Any

from tests.conftest import ROOT, read_json

EHR = ROOT / "fixtures" / "ehr"
INLINE = read_json(EHR / "documentreference-discharge-summary-inline.json")
PDF = base64.b64decode(INLINE["content"][0]["attachment"]["data"])
AMENDED_PDF = PDF + b"% amended after the pharmacist's review\n"


def _made(name: str, patient: str, encounter: str, day: str) -> dict[str, Any]:
    resource = copy.deepcopy(read_json(EHR / name))
    resource.pop("meta", None)
    if resource["resourceType"] == "Appointment":
        resource["participant"][0]["actor"]["reference"] = f"Patient/{patient}"
        resource |= {"start": f"{day}T10:30:00+09:00", "end": f"{day}T11:00:00+09:00"}
    else:
        resource["subject"] = {"reference": f"Patient/{patient}"}
        resource.setdefault("context", {})["encounter"] = [{"reference": f"Encounter/{encounter}"}]
    return resource


def put_packet(ehr: Any, patient: str, encounter: str, day: str = "2025-10-27") -> None:
    """The summaries, the Binary one of them names, and the appointment on `day` (by default a week after
    the stay the tests discharge from), written in the EHR."""
    data = base64.b64encode(AMENDED_PDF).decode()
    ehr.put({"resourceType": "Binary", "id": "bin-ds-7731", "contentType": "application/pdf", "data": data})
    for name in (
        "documentreference-discharge-summary-inline.json",
        "documentreference-discharge-summary-binary.json",
        "appointment-follow-up-respiratory.json",
    ):
        ehr.put(_made(name, patient, encounter, day))


def check_packet(hospital: Any) -> None:
    """Both summaries and the appointment are in the case record, each PDF downloads as the EHR had it."""
    documents = hospital.get(f"/api/v1/documents?client_id={hospital.client_id}")["items"]
    by_id = {d["id"]: d for d in documents}
    assert set(by_id) == {"dsum-20250418-kim", "dsum-20250418-sharma"}, sorted(by_id)
    inline, binary = by_id["dsum-20250418-kim"], by_id["dsum-20250418-sharma"]
    assert inline["type"]["codings"][0]["code"] == "18842-5"
    assert inline["master_identifier"]["value"] == "DS-2025-04417-v1"
    assert inline["encounters"] == [{"reference": f"Encounter/{hospital.encounter}"}]
    # the hospital's Binary/<id>, kept absolute under the EHR's base
    assert binary["contents"][0]["url"] == f"{hospital.h.proxy.url}/Binary/bin-ds-7731"
    assert binary["doc_status"] == "amended"
    for record, pdf in ((inline, PDF), (binary, AMENDED_PDF)):
        got = hospital.h.client.get(f"/api/v1/documents/{record['id']}/content", headers=hospital.h.headers)
        assert got.status_code == 200 and got.data == pdf, got.status_code
        assert got.headers["Content-Type"] == "application/pdf"
    (appointment,) = hospital.get(f"/api/v1/appointments?client_id={hospital.client_id}")["items"]
    assert appointment["start"] == "2025-10-27T10:30:00+09:00"
    assert appointment["patient_instruction"].startswith("흉부 X선 촬영을 위해")
    assert appointment["participants"][0]["patient"] is True
    returned = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")["returned"]
    summaries = [e for e in returned if e["what"] == "document"]
    assert [e["id"] for e in returned if e["what"] == "appointment"] == [appointment["id"]]
    assert len(summaries) == 2 and all(e["summary"] and e["content"] for e in summaries)
