"""Signing in to the workspace: the session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS), the CSRF
token every form carries, who is signed in, what they may do, and the audit of what they see."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, abort, g, request, session
from flask.sessions import SecureCookieSessionInterface

from fhir_adapter.api.http import services, touched
from fhir_adapter.config import Settings
from fhir_adapter.domain.people import Person
from fhir_adapter.service import audit as audit_events
from fhir_adapter.service import people, scopes
from fhir_adapter.service.context import Principal, stamp
from fhir_adapter.service.projection import patient_id

COOKIE = "fhir_adapter_session"


class _Session(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure whenever the workspace is served over HTTPS (directly, or as its public URL says)."""
        return request.is_secure or (services().settings.base_url or "").startswith("https://")


def configure(app: Flask, settings: Settings) -> None:
    # Without a configured key each process makes its own: sign-ins last as long as the process.
    app.secret_key = settings.secret_key or secrets.token_urlsafe(32)
    app.session_interface = _Session()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/app",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )


def csrf_token() -> str:
    """The session's token, which every form sends back (made on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """A form posted without the session's token is refused (400): it may come from another site."""
    if request.method != "POST":
        return
    sent, kept = request.form.get("csrf_token", ""), session.get("csrf")
    if not sent or not isinstance(kept, str) or not hmac.compare_digest(sent.encode(), kept.encode()):
        abort(
            400,
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )


def begin(person: Person) -> None:
    """A new session for `person` (never the one used before signing in)."""
    session.clear()
    session.permanent = True
    session["person"] = person.id
    session["generation"] = person.generation
    session["csrf"] = secrets.token_urlsafe(32)


def audit_sign_in(person: Person | None, status: int) -> None:
    """The sign-in's AuditEvent, with whose account it was (when the name is one)."""
    s = services()
    who = (person.id, person.name) if person else None
    row = audit_events.signed_in(
        person.org_id if person else None, who, request.remote_addr, status, stamp(s.deps.clock())
    )
    s.audit.add(row)


def end(principal: Principal) -> None:
    """Sign out: this session and every other of the person end on the server, not only in this browser."""
    people.sign_out(services().storage, principal.agent_id.removeprefix("person/"))
    session.clear()


def current() -> Principal | None:
    """The person signed in, as the services' caller; None when nobody is, the account was disabled, or the
    person signed out since this session began."""
    person_id, generation = session.get("person"), session.get("generation")
    if not isinstance(person_id, str) or not isinstance(generation, int):
        return None
    s = services()
    principal = people.signed_in(s.storage, s.settings, person_id, generation)
    if principal is None:
        session.clear()
    g.principal = principal
    return principal


def may_replay(principal: Principal) -> bool:
    """Sending dead letters again is the admin's."""
    return scopes.allows(principal.grants, "Endpoint", "update")


def require_admin(principal: Principal) -> None:
    if not may_replay(principal):
        abort(403, "Only an administrator can send deliveries again.")


def may_link(principal: Principal) -> bool:
    """Linking a client to its patient in an EHR is the admin's (the API asks Patient update for it)."""
    return scopes.allows(principal.grants, "Patient", "update")


def require_linker(principal: Principal) -> None:
    if not may_link(principal):
        abort(403, "Only an administrator can link a client to a patient in an EHR.")


def audit(principal: Principal, interaction: str, *client_ids: str, action: str = "read") -> None:
    """This request shows (or changes) these clients' data: its AuditEvent names them and the person."""
    g.audit = {"action": action, "interaction": interaction, "patients": set()}
    touched(*(patient_id(c, principal.org.identity) for c in client_ids))


def optional(name: str, most: int) -> str | None:
    """A form field that may be left empty (None then), stripped; 400 when longer than `most`."""
    value = (request.form.get(name) or "").strip()
    if len(value) > most or "\x00" in value:
        abort(400, f"{name.replace('_', ' ').capitalize()} is at most {most} characters.")
    return value or None


def form(name: str, most: int) -> Any:
    """A form field, stripped; 400 when missing, empty or longer than `most`."""
    value = (request.form.get(name) or "").strip()
    if not value or len(value) > most or "\x00" in value:
        abort(400, f"Fill in {name.replace('_', ' ')} (at most {most} characters).")
    return value
