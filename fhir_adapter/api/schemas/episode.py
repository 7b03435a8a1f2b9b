"""Case episodes: case type, case manager, period and care team."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, post_load, validate

from fhir_adapter.api.schemas.common import (
    Base,
    OneOf,
    PeriodSchema,
    PersonSchema,
    StrictBoolean,
    Text,
    tuples,
)
from fhir_adapter.domain import records as r
from fhir_adapter.domain import vocabulary as v
from fhir_adapter.domain.plans import is_sensitive_case_type


class CareTeamMemberSchema(Base):
    role = OneOf(list(v.CARE_TEAM_ROLES), required=True)
    name = Text(required=True)
    organization = Text()
    phone = Text()

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> r.CareTeamMember:
        return r.CareTeamMember(**data)


class CaseEpisodeSchema(Base):
    id = Text(required=True)
    client_id = Text(required=True)
    case_type = OneOf(list(v.CASE_TYPES), required=True)
    status = OneOf(list(v.EPISODE_STATUSES), load_default="active")
    case_manager = fields.Nested(PersonSchema)
    period = fields.Nested(PeriodSchema)
    care_team = fields.List(fields.Nested(CareTeamMemberSchema), validate=validate.Length(max=100))
    sensitive = StrictBoolean(load_default=False)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> r.CaseEpisode:
        if is_sensitive_case_type(data["case_type"]):
            data["sensitive"] = True
        return r.CaseEpisode(**tuples(data, "care_team"))
