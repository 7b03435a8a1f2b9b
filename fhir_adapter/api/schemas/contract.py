"""The JSON contract as the services use it (service/ports.py Contract): marshmallow schemas per kind of
record, their refusals as Invalid naming every field."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from fhir_adapter.api.schemas.assessment import AssessmentSchema
from fhir_adapter.api.schemas.client import ClientSchema
from fhir_adapter.api.schemas.dump import to_contract
from fhir_adapter.api.schemas.episode import CaseEpisodeSchema
from fhir_adapter.api.schemas.packet import AppointmentSchema, HospitalDocumentSchema
from fhir_adapter.api.schemas.plan import ServicePlanSchema
from fhir_adapter.api.schemas.referral import ReferralSchema
from fhir_adapter.errors import Rule, flatten_messages
from fhir_adapter.mapping.kinds import RECORD_KINDS
from fhir_adapter.service.errors import Invalid, Problem, invalid

SCHEMAS: dict[str, type[Schema]] = {
    "client": ClientSchema,
    "episode": CaseEpisodeSchema,
    "assessment": AssessmentSchema,
    "service-plan": ServicePlanSchema,
    "referral": ReferralSchema,
    "hospital-document": HospitalDocumentSchema,
    "appointment": AppointmentSchema,
}


def load_with(schema: Schema, payload: Any, label: str) -> Any:
    """The payload loaded by a marshmallow schema, or Invalid naming every field at fault."""
    if not isinstance(payload, dict):
        raise invalid(f"a {label} is a JSON object")
    try:
        return schema.load(payload)
    except ValidationError as err:
        problems = [
            Problem(path, message, "business-rule" if isinstance(message, Rule) else "invalid")
            for path, message in flatten_messages(err.messages)
        ]
        raise Invalid(problems) from err


class JsonContract:
    def load(self, kind: str, payload: Any) -> Any:
        return load_with(SCHEMAS[kind](), payload, RECORD_KINDS[kind].label)

    def dump(self, record: Any) -> dict[str, Any]:
        data: dict[str, Any] = to_contract(record)
        return data
