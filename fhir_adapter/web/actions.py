"""The workspace's forms: this message is client X, dismiss it with a reason, send dead letters again,
link a client to its patient in an EHR. Each calls the service the API calls for the same thing, then
shows the page it came from."""

from __future__ import annotations

import re

from flask import abort, flash, g, redirect, url_for
from werkzeug.wrappers import Response

from fhir_adapter.api.delivery import FHIR_ID
from fhir_adapter.api.http import row_id, services
from fhir_adapter.api.schemas.common import RECORD_ID_RE
from fhir_adapter.domain.sync import Link
from fhir_adapter.service import intake, outbox
from fhir_adapter.service.context import stamp
from fhir_adapter.web import session
from fhir_adapter.web.pages import bp


@bp.post("/needs-match/<int:seq>/match")
def match(seq: int) -> Response:
    client_id = session.form("client_id", 128)
    if not RECORD_ID_RE.fullmatch(client_id):
        abort(404, f"There is no client {client_id}.")
    session.audit(g.web, "update", client_id, action="update")
    s = services()
    done = intake.resolve(s.storage, g.web, row_id(seq, "inbound message"), client_id, s.deps)
    flash(f"{len(done)} message(s) applied to client {client_id}; what they call for is queued for the EHR.")
    return redirect(url_for("web.client", client_id=client_id))


@bp.post("/needs-match/<int:seq>/dismiss")
def dismiss(seq: int) -> Response:
    reason = session.form("reason", 500)
    session.audit(g.web, "update", action="update")
    s = services()
    intake.dismiss(s.storage, g.web, row_id(seq, "inbound message"), reason, s.deps.clock)
    flash(f"Message {seq} dismissed.")
    return redirect(url_for("web.needs_match"))


@bp.post("/deliveries/<int:job_id>/replay")
def replay(job_id: int) -> Response:
    session.require_admin(g.web)
    session.audit(g.web, "update", action="update")
    now = stamp(services().deps.clock())
    with services().storage.writing() as work:
        pairs = outbox.replay(work, g.web.org.id, row_id(job_id, "delivery job"), now)
    flash(", ".join(f"Delivery {old} queued again as {new}." for old, new in pairs))
    return redirect(url_for("web.deliveries"))


@bp.post("/deliveries/replay")
def replay_all() -> Response:
    session.require_admin(g.web)
    session.audit(g.web, "update", action="update")
    now = stamp(services().deps.clock())
    with services().storage.writing() as work:
        pairs = outbox.replay_dead(work, g.web.org.id, now)
    flash(f"{len(pairs)} failed deliveries queued again.")
    return redirect(url_for("web.deliveries"))


@bp.post("/clients/<client_id>/links")
def link(client_id: str) -> Response:
    """Link the client to its patient in an EHR (as the API's ehr-links does): what it has is queued there."""
    if not RECORD_ID_RE.fullmatch(client_id):
        abort(404, f"There is no client {client_id}.")
    session.audit(g.web, "update", client_id, action="update")  # a refused attempt is audited too
    session.require_linker(g.web)
    ehr, patient = session.form("ehr", 64), session.form("patient_id", 64)
    if not re.fullmatch(FHIR_ID, patient):
        abort(400, "The patient's id in the EHR is letters, digits, '-' and '.' (at most 64).")
    mrn, assigner = session.optional("mrn", 128), session.optional("assigner", 400)
    s = services()
    made = Link(g.web.org.id, client_id, ehr, patient, mrn, assigner, stamp(s.deps.clock()))
    with s.storage.writing() as work:
        job = outbox.link(work, g.web, made)
    queued = f"what the client has is queued for {ehr} (delivery {job})" if job else "nothing to send yet"
    flash(f"Client {client_id} linked to patient {patient} in {ehr}; {queued}.")
    return redirect(url_for("web.client", client_id=client_id, _anchor="links"))
