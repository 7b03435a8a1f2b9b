"""A case file: one client with the records to carry; the input of `fhir-adapter map`."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from fhir_adapter.api.schemas.assessment import AssessmentSchema
from fhir_adapter.api.schemas.client import ClientSchema
from fhir_adapter.api.schemas.common import Base
from fhir_adapter.api.schemas.episode import CaseEpisodeSchema
from fhir_adapter.api.schemas.plan import ServicePlanSchema
from fhir_adapter.api.schemas.referral import ReferralSchema
from fhir_adapter.domain import records as r

CONTRACT_VERSION = "1.2.0"
MANY = validate.Length(max=500)


class CaseFileSchema(Base):
    record = r.CaseFile

    client = fields.Nested(ClientSchema, required=True)
    episodes = fields.List(fields.Nested(CaseEpisodeSchema), validate=MANY)
    assessments = fields.List(fields.Nested(AssessmentSchema), validate=MANY)
    service_plans = fields.List(fields.Nested(ServicePlanSchema), validate=MANY)
    referrals = fields.List(fields.Nested(ReferralSchema), validate=MANY)

    @validates_schema
    def one_client(self, data: dict[str, Any], **_: Any) -> None:
        """Every record belongs to the case file's client; ids are unique per kind."""
        client = data.get("client")
        if client is None:
            return
        for kind in ("episodes", "assessments", "service_plans", "referrals"):
            seen: set[str] = set()
            for i, record in enumerate(data.get(kind, ())):
                if record.client_id != client.id:
                    raise ValidationError({kind: {i: {"client_id": [f"is not the client {client.id}"]}}})
                if record.id in seen:
                    raise ValidationError({kind: {i: {"id": [f"{record.id} appears twice"]}}})
                seen.add(record.id)


def load_case_file(data: object) -> r.CaseFile:
    """Load and check a case file; raises marshmallow.ValidationError with per-field messages."""
    if not isinstance(data, dict):
        raise ValidationError("a case file is a JSON object")
    result: r.CaseFile = CaseFileSchema().load(data)
    return result
