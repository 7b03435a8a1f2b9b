"""For operators and EHRs: Prometheus metrics of the delivery queue, and the JWKS our client assertions are
verified with. Both are public: they hold no patient data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path

import orjson
from flask import Blueprint, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fhir_adapter.adapters import outbox_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.api.http import json_response, services
from fhir_adapter.api.http_errors import HttpError
from fhir_adapter.delivery.keys import SigningKeyError, jwks, load_keys
from fhir_adapter.domain.sync import OPEN, STATES
from fhir_adapter.service.errors import Problem

bp = Blueprint("ops", __name__)


class QueueCollector(Collector):
    """Read from the database at each scrape: every worker and web process shows the same figures."""

    def collect(self) -> Iterator[Metric]:
        svc = services()
        with reading(svc.engine) as conn:
            counts = outbox_store.counts(conn)
            oldest = outbox_store.oldest_open(conn)
            failures = outbox_store.failures_by_reason(conn)
        jobs = GaugeMetricFamily("fhir_adapter_outbox_jobs", "Delivery jobs by state", labels=["state"])
        for state in STATES:
            jobs.add_metric([state], counts.get(state, 0))
        yield jobs
        depth = sum(counts.get(state, 0) for state in OPEN)
        yield GaugeMetricFamily("fhir_adapter_outbox_depth", "Jobs waiting or in flight", value=depth)
        age = 0.0
        if oldest:
            started = datetime.fromisoformat(oldest.replace("Z", "+00:00"))
            age = max(0.0, (svc.deps.clock() - started).total_seconds())
        yield GaugeMetricFamily(
            "fhir_adapter_outbox_oldest_job_age_seconds", "Age of the oldest waiting job", value=age
        )
        failed = CounterMetricFamily(
            "fhir_adapter_delivery_failures", "Failed delivery attempts by reason", labels=["reason"]
        )
        for reason, n in sorted(failures.items()):
            failed.add_metric([reason], n)
        yield failed


@bp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector())
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")


@bp.get("/.well-known/jwks.json")
def published_keys() -> Response:
    """The public keys of our SMART Backend Services client assertions, for EHRs to verify them."""
    try:
        document = _published(services().settings.signing_keys)
    except SigningKeyError as err:
        raise HttpError(503, [Problem("", f"no signing key: {err}", "not-found")]) from err
    return json_response(document, headers={"Cache-Control": "public, max-age=300"})


@cache
def _published(paths: tuple[Path, ...]) -> bytes:
    """The JWKS, read from the key files once per process (a new key takes a restart, as its setting does)."""
    return orjson.dumps(jwks(load_keys(paths)))
