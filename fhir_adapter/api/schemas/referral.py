"""Referrals to community services, with their lifecycle."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import ValidationError, fields, post_load, validates_schema

from fhir_adapter.api.schemas.common import (
    Base,
    CodingSchema,
    DateTime,
    IdentifierSchema,
    Instant,
    OneOf,
    PeriodSchema,
    PersonSchema,
    RecordId,
    StrictBoolean,
    Text,
)
from fhir_adapter.api.schemas.external import (
    MANY,
    ConceptSchema,
    NoteSchema,
    OutputSchema,
    ReferenceSchema,
    ScheduleSchema,
    SourceIdentifierSchema,
)
from fhir_adapter.domain import records as r
from fhir_adapter.domain import vocabulary as v
from fhir_adapter.domain.dates import compare
from fhir_adapter.domain.errors import DomainError
from fhir_adapter.domain.referrals import NEEDS_REASON, check_status
from fhir_adapter.errors import Rule


class OrganizationSchema(Base):
    record = r.Organization

    name = Text(required=True)
    identifier = fields.Nested(IdentifierSchema)


class ReferralReasonSchema(Base):
    record = r.ReferralReason
    json_schema: ClassVar[dict[str, Any]] = {
        "minProperties": 1,
        "dependentRequired": {"goal_id": ["plan_id"], "plan_id": ["goal_id"]},
    }

    plan_id = RecordId()
    goal_id = Text()
    problem = fields.Nested(CodingSchema)
    text = Text()

    @validates_schema
    def has_one(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("a reason needs a goal_id, a problem or text")
        if ("goal_id" in data) != ("plan_id" in data):
            raise ValidationError("a goal is named by plan_id and goal_id together", "goal_id")


class ReferralSchema(Base):
    id = RecordId(required=True)
    client_id = RecordId(required=True)
    service_type = OneOf(list(v.SERVICE_TYPES), required=True)
    status = OneOf(list(v.REFERRAL_STATUSES), required=True)
    authored_on = Instant(required=True)
    priority = OneOf(list(v.PRIORITIES), load_default="routine")
    service_coding = fields.Nested(CodingSchema)
    reason = fields.Nested(ReferralReasonSchema)
    target = fields.Nested(OrganizationSchema)
    status_reason = Text()
    outcome = Text()
    status_changed_at = Instant()
    period = fields.Nested(PeriodSchema)
    episode_id = RecordId()
    requester = fields.Nested(PersonSchema)
    note = Text()
    sensitive = StrictBoolean(load_default=False)
    identifiers = fields.List(fields.Nested(SourceIdentifierSchema), validate=MANY)
    code = fields.Nested(ConceptSchema)
    categories = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    reason_codes = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    reason_references = fields.List(fields.Nested(ReferenceSchema), validate=MANY)
    occurrence = DateTime()
    occurrence_timing = fields.Nested(ScheduleSchema)
    notes = fields.List(fields.Nested(NoteSchema), validate=MANY)
    status_reason_code = fields.Nested(ConceptSchema)
    business_status = fields.Nested(ConceptSchema)
    outputs = fields.List(fields.Nested(OutputSchema), validate=MANY)
    status_by_ehr = StrictBoolean(load_default=False)
    skipped_statuses = fields.List(OneOf(list(v.REFERRAL_STATUSES)), validate=MANY)

    @validates_schema
    def other_is_coded(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("service_type") == "other" and not ({"service_coding", "code"} & set(data)):
            raise ValidationError(
                "service_type other needs a service_coding or the code it was sent with", "service_coding"
            )
        if data.get("service_type") != "other" and "service_coding" in data:
            raise ValidationError("a service_coding goes with service_type other", "service_coding")
        changed, authored = data.get("status_changed_at"), data.get("authored_on")
        if changed and authored and compare(changed, authored) == -1:
            raise ValidationError(
                Rule("the status changed before the referral was authored"), "status_changed_at"
            )

    record = r.Referral
    json_schema: ClassVar[dict[str, Any]] = {
        "allOf": [
            {
                "if": {"properties": {"service_type": {"const": "other"}}},
                "then": {"anyOf": [{"required": ["service_coding"]}, {"required": ["code"]}]},
                "else": {"not": {"required": ["service_coding"]}},
            },
            {
                "if": {
                    "properties": {
                        "status": {"enum": sorted(NEEDS_REASON)},
                        "status_by_ehr": {"const": False},
                    }
                },
                "then": {"required": ["status_reason"]},
            },
        ]
    }

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> r.Referral:
        referral: r.Referral = super().make(data, **kwargs)
        try:
            check_status(referral)
        except DomainError as err:
            raise ValidationError(Rule(err.message), err.path) from err
        return referral
