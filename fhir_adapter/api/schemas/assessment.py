"""Assessments: an instrument (by kind) with typed answers to its items."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from fhir_adapter.api.schemas.common import (
    Base,
    CodingSchema,
    Date,
    DateTime,
    OneOf,
    PersonSchema,
    QuantitySchema,
    RecordId,
    StrictBoolean,
    Text,
    WholeNumber,
)
from fhir_adapter.api.schemas.external import ReferenceSchema
from fhir_adapter.domain import records as r
from fhir_adapter.domain import vocabulary as v
from fhir_adapter.errors import Rule

EXTERNAL = "external"  # the kind of a response to an instrument we do not hold


class AnswerSchema(Base):
    """Exactly one key says the answer's type: {"choice": "LA28397-0"}, {"integer": 4}, ..."""

    json_schema: ClassVar[dict[str, Any]] = {"minProperties": 1, "maxProperties": 1}

    text = Text()
    boolean = StrictBoolean()
    integer = WholeNumber(validate=validate.Range(-(2**31), 2**31 - 1))
    decimal = fields.Float(allow_nan=False)
    date = Date()
    choice = Text()
    coding = fields.Nested(CodingSchema)
    quantity = fields.Nested(QuantitySchema)
    datetime = DateTime()
    time = fields.String(
        validate=validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9])(\.[0-9]{1,9})?$")
    )
    uri = Text()
    reference = fields.Nested(ReferenceSchema)

    @validates_schema
    def exactly_one(self, data: dict[str, Any], **_: Any) -> None:
        if len(data) != 1:
            raise ValidationError("an answer has exactly one of: " + ", ".join(self.fields))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> r.Answer:
        ((kind, value),) = data.items()
        return r.Answer(kind=cast(r.AnswerKind, kind), value=value)


class AssessmentItemSchema(Base):
    record = r.AssessmentItem

    link_id = Text(required=True)
    answers = fields.List(fields.Nested(AnswerSchema), load_default=list, validate=validate.Length(max=100))
    text = Text()
    parents = fields.List(Text(), validate=validate.Length(max=20))


class AssessmentSchema(Base):
    record = r.Assessment

    id = RecordId(required=True)
    client_id = RecordId(required=True)
    kind = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$"))
    status = OneOf(list(v.ASSESSMENT_STATUSES), required=True)
    date = DateTime(required=True)
    items = fields.List(
        fields.Nested(AssessmentItemSchema), load_default=list, validate=validate.Length(max=500)
    )
    episode_id = RecordId()
    author = fields.Nested(PersonSchema)
    sensitive = StrictBoolean(load_default=False)
    questionnaire = Text()
    title = Text()

    @validates_schema
    def unique_items(self, data: dict[str, Any], **_: Any) -> None:
        seen: set[tuple[tuple[str, ...], str]] = set()
        for i, item in enumerate(data.get("items", ())):
            if (item.parents, item.link_id) in seen:
                raise ValidationError(
                    {"items": {i: {"link_id": [Rule(f"{item.link_id} is answered twice")]}}}
                )
            seen.add((item.parents, item.link_id))
        if (data.get("kind") == EXTERNAL) != ("questionnaire" in data):
            raise ValidationError(
                Rule(f"kind {EXTERNAL} goes with the questionnaire it answers"), "questionnaire"
            )
