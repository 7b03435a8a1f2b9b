"""The workspace's pages: sign-in, Today, a client, Needs a match, Delivery problems. Each reads what it
shows with one call of service/workspace.py; what a person sees of patient data is audited."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from fhir_adapter.api.documents import download
from fhir_adapter.api.errors import STATUS
from fhir_adapter.api.http import services
from fhir_adapter.api.schemas.common import RECORD_ID_RE
from fhir_adapter.service import attachments, people, workspace
from fhir_adapter.service.errors import ServiceError
from fhir_adapter.web import present, session
from fhir_adapter.web.timeline_view import rows

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static")
OPEN = ("web.login", "web.static")


@bp.before_request
def _gate() -> Response | None:
    session.check_csrf()
    if request.endpoint in OPEN:
        return None
    principal = session.current()
    if principal is None:
        return redirect(url_for("web.login", next=request.path))
    g.web = principal
    return None


# Nothing from elsewhere, no framing (the forms cannot be clicked through another site's page), no sniffing.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@bp.after_request
def _guard(response: Response) -> Response:
    response.headers.update(HEADERS)
    if request.endpoint != "web.static":
        response.headers["Cache-Control"] = "no-store"  # patient data stays off shared computers' disks
    return response


def zone() -> str:
    """The zone of the person's organisation (the site's before signing in)."""
    principal = g.get("web")
    return principal.org.time_zone if principal else services().settings.time_zone


def page(template: str, code: int = 200, **values: Any) -> tuple[str, int]:
    shown = render_template(f"web/{template}", principal=g.get("web"), zone=zone(), **values)
    return shown, code


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = request.args.get("next", "")
    target = target if target.startswith("/app/") and "//" not in target else url_for("web.today")
    if request.method == "GET":
        return page("login.html", target=target)
    s = services()
    name, password = request.form.get("username", "").strip(), request.form.get("password", "")
    try:
        person = people.sign_in(s.storage, s.settings, name, password, s.deps.clock)
    except people.SignInRefused as refused:
        session.audit_sign_in(refused.person, 401)
        return page("login.html", 401, target=target, error=str(refused), username=name[:100])
    session.audit_sign_in(person, 302)
    session.begin(person)
    return redirect(target)


@bp.post("/logout")
def logout() -> Response:
    session.end(g.web)
    return redirect(url_for("web.login"))


def _today() -> date:
    return services().deps.clock().astimezone(ZoneInfo(zone())).date()


@bp.get("/")
def today() -> Any:
    first, last = present.period(request.args.get("from"), request.args.get("to"), zone(), _today())
    start, end = present.utc_bounds(first, last, zone())
    with services().storage.reading() as work:
        stays = workspace.today(work, g.web.org.id, start, end)
    session.audit(g.web, "search", *{s.admission.client_id for s in stays})
    return page("today.html", stays=stays, first=first, last=last)


@bp.get("/clients/<client_id>")
def client(client_id: str) -> Any:
    if not RECORD_ID_RE.fullmatch(client_id):
        abort(404, f"There is no client {client_id}.")
    session.audit(g.web, "read", client_id)
    with services().storage.reading() as work:
        found = workspace.client(work, g.web.org.id, client_id)
    shown = rows(found["timeline"]["entries"])
    return page("client.html", **found, rows=shown, may_link=session.may_link(g.web))


@bp.get("/clients/<client_id>/documents/<document_id>/content")
def document_content(client_id: str, document_id: str) -> Response:
    """A hospital document's attachment of one of the organisation's clients, as a download."""
    if not (RECORD_ID_RE.fullmatch(client_id) and RECORD_ID_RE.fullmatch(document_id)):
        abort(404, "There is no such document.")
    session.audit(g.web, "read", client_id)
    with services().storage.reading() as work:
        found = work.records.get(g.web.org.id, "hospital-document", document_id)
        if found is None or found.client_id != client_id:
            abort(404, "There is no such document.")
        content_type, data = attachments.content_of(work, g.web, found)
    return download(content_type, data, document_id)


@bp.get("/needs-match")
def needs_match() -> Any:
    with services().storage.reading() as work:
        waiting = workspace.needs_match(work, g.web.org.id)
    session.audit(g.web, "search", *{c["id"] for w in waiting for c in w.candidates})
    return page("needs_match.html", waiting=waiting)


@bp.get("/deliveries")
def deliveries() -> Any:
    session.require_admin(g.web)
    with services().storage.reading() as work:
        found = workspace.problems(work, g.web.org.id)
    session.audit(g.web, "search", *{job.client_id for job, _ in found.dead})
    return page("deliveries.html", problems=found)


@bp.errorhandler(HTTPException)
def _refused(err: HTTPException) -> Any:
    return page("error.html", err.code or 500, status=err.code or 500, message=err.description)


@bp.errorhandler(ServiceError)
def _service_refused(err: ServiceError) -> Any:
    status = STATUS.get(type(err), 422)
    return page("error.html", status, status=status, message="; ".join(p.message for p in err.problems))
