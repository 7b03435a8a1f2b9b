"""Admission and discharge against the stand-in EHR: an EHR registered with how it names MRNs, the
client Kim with her case file, and Kim's Patient and Encounter in the EHR."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fhir_adapter.adapters import ehr_store, org_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.service import intake
from fhir_adapter.service.auth import to_org
from fhir_adapter.service.context import Org
from tests.conftest import ROOT, read_json
from tests.integration.conftest import seed
from tests.integration.delivery.conftest import proxy  # noqa: F401 - the fault proxy before the EHR
from tests.support import adt
from tests.support.delivery import Harness
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import FaultProxy

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.7"
MRN = "MRN-448812"
VISIT = "V1001"
ADT_TYPE = {"Content-Type": "x-application/hl7-v2+er7"}


@dataclass
class Hospital:
    h: Harness
    client_id: str = "CL-20417"
    patient: str = "pt-kim"
    encounter: str = "enc-kim-1"

    def visit(self, number: str = VISIT, mrn: str = MRN) -> adt.Visit:
        return adt.Visit(mrn=mrn, number=number)

    def adt(self, text: str, status: int = 200) -> Any:
        """Send one message to the HTTP ADT endpoint."""
        headers = self.h.headers | ADT_TYPE
        response = self.h.client.post(f"/api/v1/ehrs/{self.h.ehr_id}/adt", data=text, headers=headers)
        assert response.status_code == status, response.json
        return response.json

    def handle(self, text: str) -> str:
        """What the MLLP listener does with one message."""
        service = self.h.service
        with reading(service.engine) as conn:
            ehr = ehr_store.get_ehr(conn, self.h.org_id, self.h.ehr_id)
        assert ehr is not None
        return intake.take_v2(service.storage, service.deps, self.org(), False, ehr, text, "mllp")[1]

    def org(self) -> Org:
        """The organisation as its EHR's messages act for it."""
        with reading(self.h.service.engine) as conn:
            row = org_store.get_org(conn, self.h.org_id)
        assert row is not None
        return to_org(row, self.h.service.settings)

    def get(self, path: str) -> Any:
        response = self.h.client.get(path, headers=self.h.headers)
        assert response.status_code == 200, response.json
        return response.json

    def in_ehr(self, rtype: str) -> list[dict[str, Any]]:
        return self.h.ehr.search(rtype, patient=f"Patient/{self.patient}")


@pytest.fixture
def hospital(service: Any, client: Any, new_org: Any, ehr: EhrServer, proxy: FaultProxy) -> Hospital:  # noqa: F811
    return open_hospital(Harness(service, client, new_org(), new_org.org_id, ehr, proxy))


def open_hospital(h: Harness) -> Hospital:
    """Kim's case file in the organisation, the EHR registered, her Patient and Encounter in the EHR."""
    ehr = h.ehr
    h.register_ehr(mrn_system=MRN_SYSTEM, mrn_authority="RGH")
    seed(h.client, h.headers, copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json")))
    hosp = Hospital(h)
    ehr.put(
        {
            "resourceType": "Patient",
            "id": hosp.patient,
            "identifier": [{"system": MRN_SYSTEM, "value": MRN}],
            "name": [{"family": "Kim", "given": ["Seo-yeon"]}],
        }
    )
    ehr.put(
        {
            "resourceType": "Encounter",
            "id": hosp.encounter,
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5.9", "value": VISIT}],
            "subject": {"reference": f"Patient/{hosp.patient}"},
        }
    )
    return hosp


@pytest.fixture
def listener(hospital: Hospital) -> Iterator[adt.Listener]:
    running = adt.Listener(hospital.handle).start()
    yield running
    running.stop()


def referral(hospital: Hospital, rid: str) -> dict[str, Any]:
    """A housing referral the case manager makes during the stay."""
    return {
        "id": rid,
        "client_id": hospital.client_id,
        "service_type": "housing",
        "status": "sent",
        "authored_on": "2099-01-01T09:00:00Z",
        "reason": {"text": "needs stable housing after discharge"},
    }
