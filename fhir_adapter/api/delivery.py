"""Delivery to EHRs over the API: the registered EHRs, links from clients to EHR patients, the delivery
jobs with their dead letters, and replay."""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, fields, validate

from fhir_adapter.adapters import ehr_store, outbox_store, record_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.api import preview
from fhir_adapter.api.http import (
    MAX_ROW_ID,
    json_body,
    json_response,
    list_parameters,
    list_query,
    require,
    row_id,
    services,
    touched,
)
from fhir_adapter.api.idempotency import run_write
from fhir_adapter.api.records import CLIENT_ID
from fhir_adapter.api.registry import ApiBlueprint, Operation, path_param
from fhir_adapter.api.schemas.contract import load_with
from fhir_adapter.domain.sync import STATES, Job, JobState, Link
from fhir_adapter.service import outbox
from fhir_adapter.service.context import stamp
from fhir_adapter.service.errors import not_found
from fhir_adapter.service.ports import Work
from fhir_adapter.service.projection import patient_id

bp = ApiBlueprint("delivery", __name__)
FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"
JOB_ID = path_param(
    "job_id", "the delivery job's id", {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}
)
DELIVERIES = "Delivery to EHRs"


class LinkSchema(Schema):
    ehr = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$"))
    patient_id = fields.String(required=True, validate=validate.Regexp(FHIR_ID))
    mrn = fields.String(validate=validate.Length(min=1, max=128))
    assigner = fields.String(validate=validate.Length(min=1, max=400))


def _link_json(link: Link) -> dict[str, Any]:
    out = {"client_id": link.client_id, "ehr": link.ehr_id, "patient_id": link.patient_id}
    out |= {k: v for k, v in (("mrn", link.mrn), ("assigner", link.assigner)) if v}
    out |= {"created_at": link.created_at}
    return out | {k: v for k, v in (("made_by_visit", link.made_by_visit), ("ended_at", link.ended_at)) if v}


def job_json(job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.id,
        "ehr": job.ehr_id,
        "client_id": job.client_id,
        "cause": job.cause,
        "state": job.state,
        "attempts": job.attempts,
        "resources": [f"{t}/{i}" for t, i in job.resources],
        "created_at": job.created_at,
    }
    if job.state is JobState.PENDING and job.attempts:
        out["next_attempt_at"] = job.not_before
    optional = (
        ("finished_at", job.finished_at),
        ("reason", job.last_reason),
        ("error", job.last_error),
        ("replayed_by", job.replayed_by),
        ("delivered_with", job.batch_head if job.state is JobState.DELIVERED else None),
    )
    return out | {k: v for k, v in optional if v is not None}


def list_ehrs() -> Response:
    principal = require("Endpoint", "read", "search")
    with reading(services().engine) as conn:
        found = ehr_store.list_ehrs(conn, principal.org.id)
    items = [
        {"id": e.id, "base_url": e.base_url, "auth": e.auth, "send_restricted": e.send_restricted}
        for e in found
    ]
    return json_response({"items": items})


def list_links(record_id: str) -> Response:
    principal = require("Patient", "read", "search")
    touched(patient_id(record_id, principal.org.identity))
    with reading(services().engine) as conn:
        if record_store.get(conn, principal.org.id, "client", record_id) is None:
            raise not_found(f"client {record_id}")
        links = ehr_store.links_of(conn, principal.org.id, record_id)
    return json_response({"items": [_link_json(link) for link in links]})


def add_link(record_id: str) -> Response:
    principal = require("Patient", "update", "update")
    data = load_with(LinkSchema(), json_body(), "link")
    touched(patient_id(record_id, principal.org.identity))
    now = stamp(services().deps.clock())
    link = Link(
        principal.org.id,
        record_id,
        data["ehr"],
        data["patient_id"],
        data.get("mrn"),
        data.get("assigner"),
        now,
    )

    def act(work: Work) -> Response:
        job = outbox.link(work, principal, link)
        return json_response(_link_json(link) | {"job": job}, 201)

    return run_write(principal, act)


def list_jobs() -> Response:
    principal = require("Endpoint", "read", "search")
    q = list_query(STATES)
    with reading(services().engine) as conn:
        jobs = outbox_store.listing(conn, principal.org.id, q.state, q.client_id, q.after, q.limit + 1)
    return q.page(jobs, lambda job: job.id, job_json, "/api/v1/deliveries")


def _job_id(job_id: int) -> int:
    return row_id(job_id, "delivery job")


def read_job(job_id: int) -> Response:
    principal = require("Endpoint", "read", "read")
    job_id = _job_id(job_id)
    with reading(services().engine) as conn:
        job = outbox_store.get(conn, principal.org.id, job_id)
        if job is None:
            raise not_found(f"delivery job {job_id}")
        attempts = outbox_store.attempts_of(conn, job.id)
        sent = ehr_store.sent_by_job(conn, job.id)
    touched(patient_id(job.client_id, principal.org.identity))
    return json_response(job_json(job) | {"failures": attempts, "sent": sent})


def replay_job(job_id: int) -> Response:
    principal = require("Endpoint", "update", "update")
    job_id = _job_id(job_id)
    now = stamp(services().deps.clock())
    return run_write(
        principal,
        lambda work: _replayed(outbox.replay(work, principal.org.id, job_id, now)),
    )


def replay_dead() -> Response:
    principal = require("Endpoint", "update", "update")
    now = stamp(services().deps.clock())

    return run_write(principal, lambda work: _replayed(outbox.replay_dead(work, principal.org.id, now)))


def _replayed(pairs: list[tuple[int, int]]) -> Response:
    return json_response({"replayed": [{"job": old, "as": new} for old, new in pairs]}, 202)


bp.add_operation(
    "/ehrs",
    Operation(
        "/ehrs",
        "get",
        "List the EHRs records are delivered to",
        DELIVERIES,
        "system/Endpoint.read",
        None,
        "EhrList",
        errors=(401, 403),
    ),
    "list_ehrs",
    list_ehrs,
)
bp.add_operation(
    "/clients/<record_id>/ehr-links",
    Operation(
        "/clients/{record_id}/ehr-links",
        "get",
        "List the EHR patients a client is linked to",
        DELIVERIES,
        "system/Patient.read",
        None,
        "PatientLinkList",
        parameters=(path_param("record_id", "the client's id", CLIENT_ID),),
        errors=(401, 403, 404),
    ),
    "list_links",
    list_links,
)
bp.add_operation(
    "/clients/<record_id>/ehr-links",
    Operation(
        "/clients/{record_id}/ehr-links",
        "post",
        "Link a client to its patient in an EHR",
        DELIVERIES,
        "system/Patient.write",
        "PatientLinkRequest",
        "PatientLink",
        status=201,
        parameters=(path_param("record_id", "the client's id", CLIENT_ID),),
        errors=(400, 401, 403, 404, 409, 413, 415, 422),
        idempotent=True,
        description="From then on every change to the client's records is delivered to that EHR; "
        "what the client has now is queued at once (the answer's `job`).",
    ),
    "add_link",
    add_link,
)
bp.add_operation(
    "/clients/<record_id>/ehrs/<ehr_id>/preview", preview.OPERATION, "ehr_preview", preview.ehr_preview
)
bp.add_operation(
    "/deliveries",
    Operation(
        "/deliveries",
        "get",
        "List delivery jobs: pending, delivered, dead letters",
        DELIVERIES,
        "system/Endpoint.read",
        None,
        "DeliveryJobList",
        parameters=list_parameters(STATES, "jobs"),
        errors=(400, 401, 403),
    ),
    "list_jobs",
    list_jobs,
)
bp.add_operation(
    "/deliveries/<int:job_id>",
    Operation(
        "/deliveries/{job_id}",
        "get",
        "One delivery job: its failures and what was sent",
        DELIVERIES,
        "system/Endpoint.read",
        None,
        "DeliveryJobDetail",
        parameters=(JOB_ID,),
        errors=(401, 403, 404),
    ),
    "read_job",
    read_job,
)
bp.add_operation(
    "/deliveries/<int:job_id>/replay",
    Operation(
        "/deliveries/{job_id}/replay",
        "post",
        "Send a dead or withheld job again",
        DELIVERIES,
        "system/Endpoint.write",
        None,
        "Replayed",
        status=202,
        parameters=(JOB_ID,),
        errors=(400, 401, 403, 404, 409, 422),
        idempotent=True,
        description="A new job carries the same resources as they are now, behind the client's newer "
        "jobs; the old one stays, marked replayed.",
    ),
    "replay_job",
    replay_job,
)
bp.add_operation(
    "/deliveries/replay",
    Operation(
        "/deliveries/replay",
        "post",
        "Send every dead letter again",
        DELIVERIES,
        "system/Endpoint.write",
        None,
        "Replayed",
        status=202,
        errors=(400, 401, 403, 409, 422),
        idempotent=True,
    ),
    "replay_dead",
    replay_dead,
)
