"""The kinds of case-management record the service stores (mapping/kinds.py), each with its contract schema."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

from fhir_adapter.api.schemas.assessment import AssessmentSchema
from fhir_adapter.api.schemas.client import ClientSchema
from fhir_adapter.api.schemas.episode import CaseEpisodeSchema
from fhir_adapter.api.schemas.plan import ServicePlanSchema
from fhir_adapter.api.schemas.referral import ReferralSchema
from fhir_adapter.mapping.kinds import RECORD_KINDS, RESOURCE_TYPES, RecordKind

SCHEMAS: dict[str, type[Schema]] = {
    "client": ClientSchema,
    "episode": CaseEpisodeSchema,
    "assessment": AssessmentSchema,
    "service-plan": ServicePlanSchema,
    "referral": ReferralSchema,
}


@dataclass(frozen=True)
class Kind:
    record: RecordKind
    schema: type[Schema]

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def collection(self) -> str:
        return self.record.collection

    @property
    def label(self) -> str:
        return self.record.label

    @property
    def fhir_type(self) -> str:
        return self.record.fhir_type

    @property
    def subtype(self) -> str | None:
        return self.record.subtype


KINDS = {name: Kind(record, SCHEMAS[name]) for name, record in RECORD_KINDS.items()}
__all__ = ["KINDS", "RESOURCE_TYPES", "Kind"]
