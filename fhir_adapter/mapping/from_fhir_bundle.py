"""A FHIR resource or Bundle (any type) → case-management records, with a finding for all that is not carried."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.domain.packet import Appointment, HospitalDocument
from fhir_adapter.domain.records import (
    Assessment,
    CaseEpisode,
    CaseFile,
    Client,
    Goal,
    Referral,
    ReferralUpdate,
    ServicePlan,
)
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.errors import InvalidFhirInput, MappingError
from fhir_adapter.mapping.from_fhir_appointment import from_fhir_appointment
from fhir_adapter.mapping.from_fhir_assessment import from_fhir_questionnaire_response
from fhir_adapter.mapping.from_fhir_care_plan import from_fhir_care_plan
from fhir_adapter.mapping.from_fhir_common import JSON, Finding, ReverseContext
from fhir_adapter.mapping.from_fhir_document import from_fhir_document_reference
from fhir_adapter.mapping.from_fhir_episode import from_fhir_episode_of_care
from fhir_adapter.mapping.from_fhir_goal import from_fhir_goal
from fhir_adapter.mapping.from_fhir_patient import from_fhir_patient
from fhir_adapter.mapping.from_fhir_referral import from_fhir_service_request, from_fhir_task
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.validation import validate_fhir

DERIVED = {
    "Questionnaire": "a questionnaire definition: answers are matched against ours",
    "Observation": "observations are derived from assessments, not carried on their own",
}


@dataclass
class Reversed:
    """The records found in the input, and what of the input they do not carry."""

    clients: list[Client] = field(default_factory=list)
    episodes: list[CaseEpisode] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    service_plans: list[ServicePlan] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    referral_updates: list[ReferralUpdate] = field(default_factory=list)
    documents: list[HospitalDocument] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def case_file(self) -> CaseFile:
        """The records as one case file; it needs exactly one client."""
        if len(self.clients) != 1:
            raise MappingError(f"a case file needs exactly one Patient, the input has {len(self.clients)}")
        return CaseFile(
            self.clients[0],
            tuple(self.episodes),
            tuple(self.assessments),
            tuple(self.service_plans),
            tuple(self.referrals),
        )


def _entries(data: JSON) -> list[tuple[str, str | None, JSON]]:
    """(path, fullUrl, resource) of the input, which validation has checked."""
    if data["resourceType"] != "Bundle":
        return [(data["resourceType"], None, data)]
    return [
        (f"Bundle.entry[{i}].resource", entry.get("fullUrl"), entry["resource"])
        for i, entry in enumerate(data.get("entry", []))
    ]


def from_fhir(
    data: Any,
    catalogue: Catalogue,
    identity: Identity,
    client_id: str | None = None,
    lookup: Callable[[str], JSON | None] | None = None,
    instruments: Mapping[str, JSON] | None = None,
) -> Reversed:
    """Map what an EHR sent; input that is not valid FHIR R4 raises InvalidFhirInput with every issue.

    `lookup` finds, by relative reference, resources the receiver holds that the input only refers to;
    `instruments` are Questionnaires the sender serves, by the canonical its responses name."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise MappingError("not a FHIR resource: no resourceType")
    errors = [i for i in validate_fhir(data, catalogue, received=True) if i.severity == "error"]
    if errors:
        raise InvalidFhirInput(errors)
    ctx = ReverseContext(catalogue, identity, client_id, lookup=lookup, instruments=instruments or {})
    entries = _entries(data)
    for _, full_url, resource in entries:
        ctx.add_entry(resource, full_url)
    tasks = _tasks_by_focus(entries, ctx)
    consumed = _consumed(entries, ctx) | {id(task) for task in tasks.values()}
    out = Reversed()
    for path, _, resource in entries:
        if id(resource) in consumed:
            continue
        _dispatch(resource, path, ctx, out, tasks)
    out.findings = ctx.findings
    return out


def _tasks_by_focus(entries: list[tuple[str, str | None, JSON]], ctx: ReverseContext) -> dict[int, JSON]:
    """Each Task whose ServiceRequest is in the input, under that ServiceRequest: read with it as one referral."""
    in_input = {id(r) for _, _, r in entries}
    tasks = {}
    for _, _, r in entries:
        focus = ctx.resolve(r.get("focus")) if r["resourceType"] == "Task" else None
        if focus is not None and id(focus) in in_input and focus.get("resourceType") == "ServiceRequest":
            tasks[id(focus)] = r
    return tasks


def _consumed(entries: list[tuple[str, str | None, JSON]], ctx: ReverseContext) -> set[int]:
    """Resources read as part of another: the goals of a plan, the care teams of an episode."""
    consumed: set[int] = set()
    for _, _, r in entries:
        refs = {"CarePlan": r.get("goal", []), "EpisodeOfCare": r.get("team", [])}.get(r["resourceType"], [])
        consumed |= {id(found) for found in map(ctx.resolve, refs) if found is not None}
    return consumed


def _dispatch(resource: JSON, path: str, ctx: ReverseContext, out: Reversed, tasks: dict[int, JSON]) -> None:
    rtype = resource["resourceType"]
    handlers: dict[str, Callable[[], Any]] = {
        "Patient": lambda: out.clients.append(from_fhir_patient(resource, ctx, path)),
        "EpisodeOfCare": lambda: _keep(out.episodes, from_fhir_episode_of_care(resource, ctx, path)),
        "QuestionnaireResponse": lambda: _keep(
            out.assessments, from_fhir_questionnaire_response(resource, ctx, path)
        ),
        "CarePlan": lambda: _keep(out.service_plans, from_fhir_care_plan(resource, ctx, path)),
        "Goal": lambda: _keep(out.goals, from_fhir_goal(resource, ctx, path)),
        "ServiceRequest": lambda: _keep(
            out.referrals, from_fhir_service_request(resource, ctx, tasks.get(id(resource)), path)
        ),
        "Task": lambda: _keep(out.referral_updates, from_fhir_task(resource, ctx, path)),
        "DocumentReference": lambda: _keep(out.documents, from_fhir_document_reference(resource, ctx, path)),
        "Appointment": lambda: _keep(out.appointments, from_fhir_appointment(resource, ctx, path)),
    }
    handler = handlers.get(rtype)
    if handler:
        handler()
    elif rtype in DERIVED:
        ctx.report(path, DERIVED[rtype], "information")
    else:
        ctx.report(path, f"{rtype} resources are not carried into case records")


def _keep(into: list[Any], record: Any) -> None:
    if record is not None:
        into.append(record)
