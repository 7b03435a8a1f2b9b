"""GET /api/v1/clients/<id>/ehrs/<ehr>/preview: what the next admission push of a client would write to an
EHR (delivery/preview.py), read from the EHR, written nowhere."""

from __future__ import annotations

from flask import Response, request

from fhir_adapter.api.http import json_response, require, services, touched
from fhir_adapter.api.http_errors import HttpError
from fhir_adapter.api.records import CLIENT_ID
from fhir_adapter.api.registry import Operation, path_param
from fhir_adapter.delivery.ehr_client import Failure
from fhir_adapter.delivery.preview import NothingToPreview, brief
from fhir_adapter.service.errors import Problem, not_found
from fhir_adapter.service.projection import patient_id


def ehr_preview(record_id: str, ehr_id: str) -> Response:
    principal = require("Endpoint", "read", "read")
    previews = services().previews
    if previews is None:
        raise HttpError(503, [Problem("", "previews are not available in this process", "transient")])
    touched(patient_id(record_id, principal.org.identity))
    try:
        shown = previews(principal.org.id, ehr_id, record_id)
    except NothingToPreview as err:
        raise not_found(str(err)) from err
    except Failure as failure:
        problem = Problem("", f"the EHR could not be read: {failure.reason}", "transient")
        raise HttpError(502, [problem]) from failure
    return json_response(shown if request.args.get("full") == "true" else brief(shown))


OPERATION = Operation(
    "/clients/{record_id}/ehrs/{ehr_id}/preview",
    "get",
    "What the next admission push of a client would write to an EHR",
    "Delivery to EHRs",
    "system/Endpoint.read",
    None,
    "EhrPreview",
    parameters=(
        path_param("record_id", "the client's id", CLIENT_ID),
        path_param("ehr_id", "the EHR's id", {"type": "string", "pattern": r"^[A-Za-z0-9\-.]{1,64}$"}),
    ),
    errors=(401, 403, 404, 502),
    description="Each request (method, URL relative to the EHR's base, body) after the EHR's capabilities "
    "decided how each type is written and documents were rendered, with what the EHR holds now where it "
    "can be read; nothing is written. Attachments are shortened unless `full=true`.",
)
