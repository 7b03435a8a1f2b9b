"""Whom and which visit the EHR's own resources name: its Patient, found once by the link's medical record
number, and its Encounter for the client's current admission, found once by the visit number."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine

from fhir_adapter.adapters import admission_store, ehr_store
from fhir_adapter.adapters.db import writing
from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.domain.sync import Admission, Ehr, Link
from fhir_adapter.mapping.kinds import RESOURCE_KINDS
from fhir_adapter.service.context import stamp

JSON = dict[str, Any]
# The resources we send that have an `encounter` element in R4.
WITH_ENCOUNTER = tuple(t for t, k in RESOURCE_KINDS.items() if k.encounter)


def _first_id(bundle: Any) -> str | None:
    for entry in bundle.get("entry", []) if isinstance(bundle, dict) else []:
        rid = (entry.get("resource") or {}).get("id")
        if rid:
            return str(rid)
    return None


def ehr_patient(engine: Engine, client: EhrClient, ehr: Ehr, link: Link) -> str:
    """The EHR's Patient id for the link; looked up by MRN the first time, then kept on the link."""
    if link.patient_id:
        return link.patient_id
    if not link.mrn:
        raise Failure("dead", "patient_unknown", None, "the link names neither the EHR's patient nor an MRN")
    token = f"{ehr.mrn_system}|{link.mrn}" if ehr.mrn_system else link.mrn
    found = _first_id(client.request("GET", "Patient?" + urlencode({"identifier": token})))
    if found is None:
        raise Failure("dead", "patient_not_in_ehr", None, f"the EHR has no Patient with identifier {token}")
    with writing(engine) as conn:
        ehr_store.found_patient(conn, link, found)
    return found


def encounter_ref(
    engine: Engine, client: EhrClient, admission: Admission, patient: str, now: datetime, recheck: timedelta
) -> JSON:
    """A reference to the admission's Encounter in the EHR: literal when the EHR has it, else logical by
    the visit number. (`subject`, not `patient`: both are R4 Encounter parameters, and some servers search
    `patient` through the whole compartment.) When the EHR had none, it is asked again only after `recheck`:
    many EHRs never give their Encounters the ADT visit number."""
    if admission.encounter_id:
        return {"reference": f"Encounter/{admission.encounter_id}"}
    logical = {"identifier": {"value": admission.visit_number}, "display": f"visit {admission.visit_number}"}
    sought = admission.encounter_sought_at
    if sought and now - datetime.fromisoformat(sought) < recheck:
        return logical
    query = urlencode({"subject": f"Patient/{patient}", "identifier": admission.visit_number})
    found = _first_id(client.request("GET", f"Encounter?{query}"))
    if found is None:
        with writing(engine) as conn:
            admission_store.sought_encounter(conn, admission.id, stamp(now))
        return logical
    with writing(engine) as conn:
        admission_store.set_encounter(conn, admission.id, found)
    return {"reference": f"Encounter/{found}"}


def with_encounter(resource: JSON, ref: JSON) -> JSON:
    if resource.get("resourceType") not in WITH_ENCOUNTER:
        return resource
    return {**resource, "encounter": ref}
