"""Case episodes: case type, case manager, period and care team."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from fhir_adapter.api.schemas.common import (
    Base,
    OneOf,
    PeriodSchema,
    PersonSchema,
    RecordId,
    StrictBoolean,
    Text,
)
from fhir_adapter.domain import records as r
from fhir_adapter.domain import vocabulary as v
from fhir_adapter.domain.plans import is_sensitive_case_type


class CareTeamMemberSchema(Base):
    record = r.CareTeamMember

    role = OneOf(list(v.CARE_TEAM_ROLES), required=True)
    name = Text(required=True)
    organization = Text()
    phone = Text()


class CaseEpisodeSchema(Base):
    id = RecordId(required=True)
    client_id = RecordId(required=True)
    case_type = OneOf(list(v.CASE_TYPES), required=True)
    status = OneOf(list(v.EPISODE_STATUSES), load_default="active")
    case_manager = fields.Nested(PersonSchema)
    period = fields.Nested(PeriodSchema)
    care_team = fields.List(fields.Nested(CareTeamMemberSchema), validate=validate.Length(max=100))
    sensitive = StrictBoolean(load_default=False)

    record = r.CaseEpisode

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        if is_sensitive_case_type(data["case_type"]):
            data["sensitive"] = True
        return data
