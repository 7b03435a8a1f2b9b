"""The Provenance a job leaves in the EHR: what it wrote (UPDATE) or removed (DELETE), by whom, with an id
made from the job so that a resend writes the same one."""

from __future__ import annotations

import uuid
from typing import Any

JSON = dict[str, Any]
PROVENANCE_TAG = "urn:fhir-adapter:delivery"  # a Provenance's tag: its delivery job, as its id is made


def provenance(provenance_id: str, targets: list[str], recorded: str, org: str, activity: str) -> JSON:
    """What one job did in the EHR (`activity`: UPDATE or DELETE, v3-DataOperation), by whom."""
    return {
        "resourceType": "Provenance",
        "id": provenance_id,
        "meta": {"tag": [{"system": PROVENANCE_TAG, "code": provenance_id}]},  # what a resend is known by
        "target": [{"reference": t} for t in targets],
        "recorded": recorded,
        "activity": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": activity}]
        },
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "assembler",
                        }
                    ]
                },
                "who": {
                    "identifier": {"system": "urn:fhir-adapter:organization", "value": org},
                    "display": f"fhir-adapter for {org}",
                },
            }
        ],
    }


def provenance_id(org: str, ehr: str, job_id: int, activity: str = "UPDATE") -> str:
    name = f"urn:fhir-adapter:{org}:{ehr}:job:{job_id}" + ("" if activity == "UPDATE" else f":{activity}")
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))
