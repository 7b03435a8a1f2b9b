"""Appointment → follow-up appointment: status, its concepts whole (service category and type, specialty,
appointment type, reasons), when, what to bring, and who takes part. An Appointment has no subject: the
client is the participant whose actor is the client's Patient. https://hl7.org/fhir/R4/appointment.html
"""

from __future__ import annotations

from fhir_adapter.domain.packet import (
    APPOINTMENT_STATUSES,
    PARTICIPANT_REQUIRED,
    PARTICIPATION_STATUSES,
    Appointment,
    Participant,
)
from fhir_adapter.mapping.from_fhir_common import JSON, ReverseContext, is_sensitive, report_unhandled
from fhir_adapter.mapping.from_fhir_values import (
    concept_from,
    concepts_from,
    identifiers_from,
    period_of,
    reference_from,
    references_from,
    rest,
)

HANDLED = frozenset(
    {
        "identifier",
        "status",
        "cancelationReason",
        "serviceCategory",
        "serviceType",
        "specialty",
        "appointmentType",
        "reasonCode",
        "reasonReference",
        "priority",
        "description",
        "start",
        "end",
        "minutesDuration",
        "created",
        "comment",
        "patientInstruction",
        "basedOn",
        "participant",
    }
)
PARTICIPANT_KEPT = frozenset({"type", "actor", "required", "status", "period"})
KIND = "appointment"


def patient_index(resource: JSON, ctx: ReverseContext) -> int | None:
    """Which participant is the client: one whose actor is our client's Patient, else the first Patient."""
    actors = [p.get("actor") or {} for p in resource.get("participant", [])]
    for i, actor in enumerate(actors):
        if ctx.ref_id(actor, "client"):
            return i
    for i, actor in enumerate(actors):
        if str(actor.get("reference", "")).startswith("Patient/") or actor.get("type") == "Patient":
            return i
    return None


def from_fhir_appointment(
    resource: JSON, ctx: ReverseContext, path: str = "Appointment"
) -> Appointment | None:
    report_unhandled(ctx, resource, HANDLED, path)
    status = resource.get("status")
    if status not in APPOINTMENT_STATUSES:
        ctx.report(f"{path}.status", f"status {status} is not an appointment status: not carried")
        return None
    mine = patient_index(resource, ctx)
    actor = resource["participant"][mine].get("actor") if mine is not None else None
    where = f"{path}.participant[{mine}].actor" if mine is not None else f"{path}.participant"
    cancelation = resource.get("cancelationReason")
    return Appointment(
        id=ctx.record_id(resource, KIND, path),
        client_id=ctx.client_of(actor, where),
        status=str(status),
        participants=tuple(
            _participant(p, i == mine, ctx, f"{path}.participant[{i}]")
            for i, p in enumerate(resource.get("participant", []))
        ),
        identifiers=identifiers_from(resource, ctx, path, KIND),
        service_categories=concepts_from(resource.get("serviceCategory"), ctx, f"{path}.serviceCategory"),
        service_types=concepts_from(resource.get("serviceType"), ctx, f"{path}.serviceType"),
        specialties=concepts_from(resource.get("specialty"), ctx, f"{path}.specialty"),
        appointment_type=concept_from(resource.get("appointmentType"), ctx, f"{path}.appointmentType"),
        reason_codes=concepts_from(resource.get("reasonCode"), ctx, f"{path}.reasonCode"),
        reason_references=references_from(resource.get("reasonReference"), ctx, f"{path}.reasonReference"),
        cancelation_reason=concept_from(cancelation, ctx, f"{path}.cancelationReason"),
        priority=resource.get("priority"),
        description=resource.get("description"),
        start=resource.get("start"),
        end=resource.get("end"),
        minutes_duration=resource.get("minutesDuration"),
        created=resource.get("created"),
        comment=resource.get("comment"),
        patient_instruction=resource.get("patientInstruction"),
        based_on=references_from(resource.get("basedOn"), ctx, f"{path}.basedOn"),
        sensitive=is_sensitive(resource),
    )


def _participant(participant: JSON, patient: bool, ctx: ReverseContext, path: str) -> Participant:
    rest(ctx, participant, PARTICIPANT_KEPT, path, "Appointment.participant")
    actor = participant.get("actor")
    required = participant.get("required")
    if required is not None and required not in PARTICIPANT_REQUIRED:
        ctx.report(f"{path}.required", f"required {required} is not carried")
        required = None
    status = participant.get("status")
    if status not in PARTICIPATION_STATUSES:
        ctx.report(f"{path}.status", f"participation status {status} is read as needs-action")
        status = "needs-action"
    return Participant(
        status=str(status),
        actor=reference_from(actor, ctx, f"{path}.actor") if actor else None,
        patient=patient,
        types=concepts_from(participant.get("type"), ctx, f"{path}.type"),
        required=required,
        period=period_of(participant.get("period"), ctx, f"{path}.period"),
    )
