"""create_app(services): blueprints, error handlers, health. Nothing happens at import time; the services
come from the composition root (bootstrap.py, whose web_app() gunicorn calls)."""

from __future__ import annotations

import gc

from flask import Flask, Response
from sqlalchemy import text

from fhir_adapter import __version__, logs, web
from fhir_adapter.adapters.db import reading
from fhir_adapter.api import (
    audit_hook,
    delivery,
    documents,
    errors,
    history,
    inbound,
    intake,
    openapi,
    ops,
    records,
)
from fhir_adapter.api.http import Services, json_response, limit_body, refuse_nul
from fhir_adapter.api.limits import body_limit
from fhir_adapter.fhir_api import routes as fhir_routes


def create_app(services: Services) -> Flask:
    settings = services.settings
    logs.configure(settings.log_level)
    app = Flask(__name__)
    largest = body_limit("/fhir", settings.attachment_max_bytes)  # see limit_body: one limit per path
    app.config["MAX_CONTENT_LENGTH"] = largest + 1
    if settings.trusted_hosts:
        # Without BASE_URL the fullUrls and links are made from the Host header: only these are answered.
        app.config["TRUSTED_HOSTS"] = list(settings.trusted_hosts)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["fhir_adapter"] = services
    # The API document lists the operations of these blueprints in this order.
    for api in (records, documents, delivery, history, intake, inbound):
        app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(openapi.bp, url_prefix="/api/v1")
    app.register_blueprint(fhir_routes.bp, url_prefix="/fhir")
    app.register_blueprint(ops.bp)
    app.register_blueprint(web.bp, url_prefix="/app")  # the workspace for people
    web.configure(app, settings)

    @app.get("/health/live")
    def alive() -> Response:
        """The process answers (liveness); nothing else is checked."""
        return json_response({"status": "ok"})

    @app.get("/health")
    def health() -> Response:
        """The service can work: the database answers (readiness)."""
        with reading(app.extensions["fhir_adapter"].engine) as conn:
            conn.execute(text("SELECT 1"))
        return json_response({"status": "ok", "version": __version__})

    errors.register(app)
    audit_hook.register(app)
    app.before_request(refuse_nul)
    app.before_request(limit_body)
    # The mappings, models and catalogue live as long as the process: keep the collector from rescanning
    # them (a full collection over them took 80-270 ms, seen as latency spikes under load).
    gc.freeze()
    return app
