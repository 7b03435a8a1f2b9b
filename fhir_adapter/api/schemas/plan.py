"""Service plans (ISP / CSP / PCP): goals, activities, review date and version."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from fhir_adapter.api.schemas.common import (
    Base,
    Date,
    OneOf,
    PeriodSchema,
    PersonSchema,
    RecordId,
    StrictBoolean,
    Text,
    WholeNumber,
)
from fhir_adapter.api.schemas.external import (
    MANY,
    ConceptSchema,
    NoteSchema,
    ReferenceSchema,
    ScheduleSchema,
    SourceIdentifierSchema,
)
from fhir_adapter.domain import records as r
from fhir_adapter.domain import vocabulary as v
from fhir_adapter.domain.errors import DomainError
from fhir_adapter.domain.plans import default_next_review
from fhir_adapter.errors import Rule

RECORD_ID = validate.Regexp(r"^[A-Za-z0-9\-.]{1,64}$", error="ids are 1-64 letters, digits, '-' or '.'")


class GoalTargetSchema(Base):
    record = r.GoalTarget

    measure = Text(required=True)
    detail = Text()


class GoalSchema(Base):
    record = r.Goal

    id = fields.String(required=True, validate=RECORD_ID)
    description = Text(required=True)
    lifecycle_status = OneOf(list(v.GOAL_LIFECYCLE), load_default="active")
    achievement_status = OneOf(list(v.GOAL_ACHIEVEMENT))
    target = fields.Nested(GoalTargetSchema)
    start_date = Date()
    due_date = Date()
    description_code = fields.Nested(ConceptSchema)
    categories = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    identifiers = fields.List(fields.Nested(SourceIdentifierSchema), validate=MANY)


class ActivitySchema(Base):
    record = r.Activity

    id = fields.String(required=True, validate=RECORD_ID)
    kind = OneOf(list(v.ACTIVITY_KINDS), required=True)
    status = OneOf(list(v.ACTIVITY_STATUSES), required=True)
    description = Text()
    responsible = Text()
    schedule = Text()
    period = fields.Nested(PeriodSchema)
    goal_ids = fields.List(fields.String(validate=RECORD_ID))
    code = fields.Nested(ConceptSchema)
    timing = fields.Nested(ScheduleSchema)


class ServicePlanSchema(Base):
    id = RecordId(required=True)
    client_id = RecordId(required=True)
    plan_type = OneOf(list(v.PLAN_TYPES), required=True)
    status = OneOf(list(v.PLAN_STATUSES), required=True)
    period = fields.Nested(PeriodSchema, required=True)
    next_review = Date()
    version = WholeNumber(load_default=1, validate=validate.Range(min=1, max=2**31 - 1))
    title = Text()
    episode_id = RecordId()
    author = fields.Nested(PersonSchema)
    goals = fields.List(fields.Nested(GoalSchema), validate=validate.Length(max=100))
    activities = fields.List(fields.Nested(ActivitySchema), validate=validate.Length(max=200))
    sensitive = StrictBoolean(load_default=False)
    identifiers = fields.List(fields.Nested(SourceIdentifierSchema), validate=MANY)
    categories = fields.List(fields.Nested(ConceptSchema), validate=MANY)
    description = Text()
    addresses = fields.List(fields.Nested(ReferenceSchema), validate=MANY)
    notes = fields.List(fields.Nested(NoteSchema), validate=MANY)

    @validates_schema
    def goals_known(self, data: dict[str, Any], **_: Any) -> None:
        goal_ids = [g.id for g in data.get("goals", ())]
        if len(set(goal_ids)) != len(goal_ids):
            raise ValidationError(Rule("two goals share an id"), "goals")
        for i, activity in enumerate(data.get("activities", ())):
            for goal_id in activity.goal_ids:
                if goal_id not in goal_ids:
                    raise ValidationError(
                        {"activities": {i: {"goal_ids": [Rule(f"no goal {goal_id} in this plan")]}}}
                    )

    record = r.ServicePlan

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        if "next_review" not in data:
            try:
                data["next_review"] = default_next_review(data["period"].start, date.today())
            except DomainError as err:
                raise ValidationError(Rule(err.message), err.path) from err
        return data
