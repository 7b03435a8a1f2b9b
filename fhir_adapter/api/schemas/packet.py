"""What the hospital hands over at discharge (contract 1.2): its documents and follow-up appointments."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from marshmallow import ValidationError, fields, validate

from fhir_adapter.api.schemas.common import (
    _WHITE,
    Base,
    Code,
    CodingSchema,
    DateTime,
    Instant,
    OneOf,
    PeriodSchema,
    RecordId,
    StrictBoolean,
    Text,
    WholeNumber,
)
from fhir_adapter.api.schemas.external import MANY, ConceptSchema, ReferenceSchema, SourceIdentifierSchema
from fhir_adapter.domain import packet as p
from fhir_adapter.domain.dates import compare
from fhir_adapter.errors import Rule

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# FHIR base64Binary (padded, without white space)
BASE64_RE = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
URL_RE = re.compile(rf"^[^{_WHITE}\x00-\x1f\x7f]{{1,4096}}$")  # FHIR url: no white space or control character


class DocumentContentSchema(Base):
    """One attachment as the hospital described it; `sha256` names the bytes kept here."""

    record = p.DocumentContent
    json_schema: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"required": [name]}
            for name in ("content_type", "language", "title", "creation", "size", "hash", "url")
        ]
    }

    content_type = Code()
    language = Code()
    title = Text()
    creation = DateTime()
    size = WholeNumber(validate=validate.Range(min=0, max=2**31 - 1))
    hash = fields.String(validate=validate.Regexp(BASE64_RE, error="the SHA-1 in base64"))
    url = fields.String(validate=validate.Regexp(URL_RE, error="a URL, without white space"))
    format = fields.Nested(CodingSchema)
    sha256 = fields.String(validate=validate.Regexp(SHA256_RE, error="64 lower-case hex digits"))

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        if not set(data) - {"format", "sha256"}:
            raise ValidationError("an attachment is described by its content type, url, title, size, ...")
        return data


class HospitalDocumentSchema(Base):
    record = p.HospitalDocument

    id = RecordId(required=True)
    client_id = RecordId(required=True)
    status = OneOf(list(p.DOCUMENT_STATUSES), required=True)
    type = fields.Nested(ConceptSchema)
    categories = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    doc_status = OneOf(list(p.DOC_STATUSES))
    date = Instant()
    description = Text()
    authors = fields.List(fields.Nested(ReferenceSchema), validate=MANY)
    authenticator = fields.Nested(ReferenceSchema)
    custodian = fields.Nested(ReferenceSchema)
    identifiers = fields.List(fields.Nested(SourceIdentifierSchema), validate=MANY)
    master_identifier = fields.Nested(SourceIdentifierSchema)
    encounters = fields.List(fields.Nested(ReferenceSchema), validate=MANY)
    period = fields.Nested(PeriodSchema)
    facility_type = fields.Nested(ConceptSchema)
    practice_setting = fields.Nested(ConceptSchema)
    security_labels = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    contents = fields.List(
        fields.Nested(DocumentContentSchema), required=True, validate=validate.Length(min=1, max=100)
    )
    sensitive = StrictBoolean(load_default=False)


class ParticipantSchema(Base):
    record = p.Participant
    json_schema: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"required": ["actor"]},
            {"required": ["types"]},
            {"properties": {"patient": {"const": True}}},
        ]
    }

    status = OneOf(list(p.PARTICIPATION_STATUSES), required=True)
    actor = fields.Nested(ReferenceSchema)
    patient = StrictBoolean(load_default=False)
    types = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    required = OneOf(list(p.PARTICIPANT_REQUIRED))
    period = fields.Nested(PeriodSchema)

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        if not (data.get("actor") or data.get("types") or data.get("patient")):
            raise ValidationError("a participant needs an actor, a type, or to be the client")
        return data


class AppointmentSchema(Base):
    record = p.Appointment
    json_schema: ClassVar[dict[str, Any]] = {"dependentRequired": {"start": ["end"], "end": ["start"]}}

    id = RecordId(required=True)
    client_id = RecordId(required=True)
    status = OneOf(list(p.APPOINTMENT_STATUSES), required=True)
    participants = fields.List(fields.Nested(ParticipantSchema), validate=MANY)
    identifiers = fields.List(fields.Nested(SourceIdentifierSchema), validate=MANY)
    service_categories = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    service_types = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    specialties = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    appointment_type = fields.Nested(ConceptSchema)
    reason_codes = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    reason_references = fields.List(fields.Nested(ReferenceSchema), validate=MANY)
    cancelation_reason = fields.Nested(ConceptSchema)
    priority = WholeNumber(validate=validate.Range(min=0, max=2**31 - 1))
    description = Text()
    start = Instant()
    end = Instant()
    minutes_duration = WholeNumber(validate=validate.Range(min=1, max=2**31 - 1))
    created = DateTime()
    comment = Text()
    patient_instruction = Text()
    based_on = fields.List(fields.Nested(ReferenceSchema), validate=MANY)
    sensitive = StrictBoolean(load_default=False)

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        start, end = data.get("start"), data.get("end")
        if bool(start) != bool(end):
            raise ValidationError("an appointment has both a start and an end, or neither", "end")
        if start and end and compare(start, end) == 1:
            raise ValidationError(Rule("the appointment ends before it starts"), "end")
        return data
