"""The workspace for people: server-rendered pages under /app/ (see pages.py and actions.py)."""

from __future__ import annotations

from flask import Flask, redirect
from werkzeug.wrappers import Response

from fhir_adapter.config import Settings
from fhir_adapter.web import actions, present, session
from fhir_adapter.web.pages import bp, zone

__all__ = ["actions", "bp", "configure"]


def configure(app: Flask, settings: Settings) -> None:
    """The session cookie, the templates' helpers, and / leading to the workspace."""
    session.configure(app, settings)
    app.add_template_filter(lambda stamp: present.local(stamp, zone()), "local")
    app.add_template_filter(present.names, "names")
    app.add_template_filter(present.mrns, "mrns")
    app.add_template_filter(present.refusal, "refusal")
    app.add_template_filter(present.ehr_said, "ehr_said")
    app.add_template_filter(present.what, "what")
    app.add_template_global(present.agreement, "agreement")
    app.add_template_global(session.csrf_token, "csrf_token")

    @app.get("/")
    def home() -> Response:
        """People start at the workspace."""
        return redirect("/app/")
