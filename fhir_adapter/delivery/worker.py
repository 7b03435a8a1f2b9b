"""The delivery worker: claim a job, send it, record what happened.

A crash anywhere leaves the job leased; when the lease runs out another worker sends it again, and the
writes are idempotent (same ids, or conditional on the business identifier), so the EHR ends with one
resource per identifier. The database being away is waited out, never taken for a failed delivery.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import structlog
from sqlalchemy import Engine

from fhir_adapter.adapters import admission_store, ehr_store, fhir_store, outbox_lease
from fhir_adapter.adapters.db import is_postgres, reading, writing
from fhir_adapter.config import Settings
from fhir_adapter.delivery import attempt, closure, linking, profiles
from fhir_adapter.delivery.capabilities import Capabilities
from fhir_adapter.delivery.capability_book import CapabilityBook, worth_a_fallback
from fhir_adapter.delivery.ehr_client import EhrClient, EhrClients, Failure
from fhir_adapter.delivery.outgoing import Prepared, sort_out
from fhir_adapter.delivery.pull import Puller
from fhir_adapter.delivery.record import record_delivery
from fhir_adapter.delivery.writes import Written
from fhir_adapter.documents import renderers
from fhir_adapter.domain.sync import Ehr, Job, JobAction
from fhir_adapter.logs import raised_at
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.service.context import Clock, stamp, utc_now
from fhir_adapter.service.ports import Contract, StorageUnavailable
from fhir_adapter.service.records import Deps

log = structlog.get_logger("fhir_adapter.delivery")


class LeaseLost(Exception):
    """Another worker holds the job now: this one records nothing."""


def backoff(attempts: int, base: float, cap: float, retry_after: float | None) -> float:
    """Exponential with full jitter on the upper half; a server's Retry-After wins when it asks for longer."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret
    return max(delay, min(retry_after, 3600.0)) if retry_after is not None else delay


def verdict(failure: Failure, attempts: int, most: int) -> Failure:
    """What a failed attempt comes to: a retryable failure with attempts left is tried again later; any
    other is a dead letter (a retryable one out of attempts says it gave up; a conflict still there after
    reconciling keeps its reason)."""
    if failure.action == "retry" and attempts < most:
        return failure
    if failure.action == "retry":
        return Failure("dead", "gave_up", failure.status, f"{attempts} attempts; last: {failure.reason}")
    return Failure("dead", failure.reason, failure.status, failure.detail)


class Worker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock = utc_now,
        org_id: str | None = None,
        *,
        mappings: Callable[[], Catalogue],
        contract: Contract,
    ) -> None:
        self.engine = engine
        self.catalogue = functools.cache(mappings)  # loaded when a read-back or a response first needs them
        self._contract = contract
        self.org_id = org_id
        self.settings = settings
        self.clock = clock
        self.skip_locked = is_postgres(engine)
        self._clients = EhrClients(settings.signing_keys, settings.ehr_timeout_seconds)
        self._puller: Puller | None = None
        self._book = CapabilityBook(engine, clock)

    # --- the loop ---

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set: at once while there are jobs, otherwise every poll interval."""
        self.warm()
        pause = self.settings.poll_seconds
        while not stop.is_set():
            try:
                busy = self.run_once()
                pause = self.settings.poll_seconds
            except StorageUnavailable as err:
                log.warning("delivery.database_unavailable", error=str(err))
                busy, pause = False, min(pause * 2, 5.0)
            if not busy:
                stop.wait(pause)

    def warm(self) -> None:
        """What the first job would otherwise wait for: the mappings loaded, the PDF renderers set up."""
        began = time.monotonic()
        self.catalogue()
        try:
            renderers.warm()
        except Exception as err:  # no fonts, say: the worker still delivers all that is not a document
            log.error("delivery.documents_unavailable", error=type(err).__name__, where=raised_at(err))
        log.info("delivery.ready", seconds=round(time.monotonic() - began, 2))

    def run_once(self) -> bool:
        """Deliver one job if one is due; False when there was none."""
        now = self.clock()
        with writing(self.engine) as conn:
            job = outbox_lease.claim(
                conn,
                stamp(now),
                stamp(now + timedelta(seconds=self.settings.lease_seconds)),
                self.skip_locked,
                self.org_id,
                self.settings.batch_jobs,
            )
        if job is None:
            return False
        try:
            self.deliver(job)
        except LeaseLost:
            log.warning("delivery.lease_lost", job=job.id)
        except StorageUnavailable:
            raise
        except Exception as err:  # a fault of ours: the job waits and is retried, the worker goes on
            where = raised_at(err)
            log.error("delivery.internal_error", job=job.id, error=type(err).__name__, where=where)
            self._failed(job, Failure("retry", "internal_error", None, type(err).__name__))
        return True

    # --- one job ---

    def deliver(self, job: Job) -> None:
        prepared = self.prepare(job)
        if prepared is None:
            return
        try:
            if job.action is JobAction.PULL:
                self._pull(job, prepared)
                return
            if prepared.send:
                prepared = self.addressed(prepared)
            written = self._send(job, prepared) if prepared.send else []
        except Failure as failure:
            self._failed(job, failure)
            return
        self._finish(job, prepared, written)

    def addressed(self, prepared: Prepared) -> Prepared:
        """Our Patient as the EHR's, and each resource linked to the admission's Encounter."""
        client = self._clients.get(prepared.ehr)
        patient = linking.ehr_patient(self.engine, client, prepared.ehr, prepared.link)
        refs = {f"Patient/{prepared.patient_id}": f"Patient/{patient}"} if prepared.patient_id else {}
        send = prepared.send
        named = any(not o.deleted and o.resource_type in linking.WITH_ENCOUNTER for o in send)
        if prepared.admission is not None and named:
            recheck = timedelta(seconds=self.settings.encounter_recheck_seconds)
            encounter = linking.encounter_ref(
                self.engine, client, prepared.admission, patient, self.clock(), recheck
            )
            send = [
                o if o.deleted else replace(o, resource=linking.with_encounter(o.resource, encounter))
                for o in send
            ]
        return replace(prepared, send=send, refs=refs)

    def _pull(self, job: Job, prepared: Prepared) -> None:
        client = self._clients.get(prepared.ehr)
        patient = linking.ehr_patient(self.engine, client, prepared.ehr, prepared.link)
        if self._puller is None:
            self._puller = Puller(
                self.engine,
                self.settings,
                Deps(self.catalogue(), self.clock, self._contract, self.settings.attachment_max_bytes),
            )
        if not self._puller.run(job, client, patient, stamp(self.clock())):
            raise LeaseLost()
        log.info("delivery.read_back", job=job.id)

    def prepare(self, job: Job) -> Prepared | None:
        with reading(self.engine) as conn:
            ehr = ehr_store.get_ehr(conn, job.org_id, job.ehr_id)
            link = ehr_store.get_link(conn, job.org_id, job.client_id, job.ehr_id)
            stored = fhir_store.read_many(conn, job.org_id, job.resources)
            known = ehr_store.last_sent(conn, job.org_id, job.ehr_id, job.resources)
            admission = admission_store.current(conn, job.org_id, job.ehr_id, job.client_id)
        if ehr is None or link is None:
            missing = "the EHR" if ehr is None else "the link to the EHR's patient"
            self._dead(job, Failure("dead", "not_configured", None, f"{missing} no longer exists"))
            return None
        # Only taking back goes through an ended link.
        if not link.active and job.action is not JobAction.RETRACT:
            why = f"the link to the EHR's patient ended at {link.ended_at} (its admission was cancelled)"
            self._dead(job, Failure("dead", "link_ended", None, why))
            return None
        send, withheld, patient_id = sort_out(job, ehr, stored, known)
        with reading(self.engine) as conn:
            closed = closure.close(conn, job.org_id, ehr, send, known, patient_id)
        if closed.left_out:
            log.info("delivery.references_left_out", job=job.id, references=len(closed.left_out))
        return Prepared(ehr, closed.send, withheld, {}, closed.known, patient_id, link, admission)

    def _send(self, job: Job, prepared: Prepared) -> list[Written]:
        """The job's writes; a refused type is looked up again and takes its fallback (once per type), a
        conflict re-reads and writes again (FHIR_ADAPTER_RECONCILE_LIMIT times)."""
        client = self._clients.get(prepared.ehr)
        known = dict(prepared.known)
        caps = self._book.get(prepared.ehr, client)
        refused: set[str] = set()
        rounds = 0
        while True:
            try:
                ctx = attempt.Context(self.engine, self.catalogue, stamp(self.clock()))
                return attempt.write(ctx, job, client, prepared, known, caps)
            except Failure as failure:
                if worth_a_fallback(failure, refused):
                    caps = self._book.refused(
                        prepared.ehr, client, str(failure.resource_type), failure.status
                    )
                    refused.add(str(failure.resource_type))
                    if caps.way(str(failure.resource_type)) == "document":
                        continue
                if failure.action != "reconcile" or rounds == self.settings.reconcile_limit:
                    profiles.explain(failure, caps, self.catalogue)
                    raise
                rounds += 1
                log.info("delivery.reconcile", job=job.id, reason=failure.reason, round=rounds)
                known = attempt.reread(client, prepared, known)

    def client(self, ehr: Ehr) -> EhrClient:
        return self._clients.get(ehr)

    def capabilities(self, ehr: Ehr) -> Capabilities:
        return self._book.get(ehr, self._clients.get(ehr))

    # --- recording ---

    def _finish(self, job: Job, prepared: Prepared, written: list[Written]) -> None:
        now = stamp(self.clock())
        withheld = {(o.resource_type, o.id) for o in prepared.withheld}
        with writing(self.engine) as conn:
            if not outbox_lease.delivered(conn, job, withheld, now):
                raise LeaseLost()
            record_delivery(conn, job, prepared.ehr, prepared.patient_id, written, prepared.withheld, now)
        jobs = len(job.members)
        log.info("delivery.done", job=job.id, jobs=jobs, resources=len(written), withheld=len(withheld))

    def _failed(self, job: Job, failure: Failure) -> None:
        failure = verdict(failure, job.attempts, self.settings.max_attempts)
        if failure.action == "retry":
            wait = backoff(
                job.attempts,
                self.settings.retry_base_seconds,
                self.settings.retry_cap_seconds,
                failure.retry_after,
            )
            now = self.clock()
            with writing(self.engine) as conn:
                outbox_lease.record_attempt(
                    conn, job, stamp(now), failure.reason, failure.status, failure.detail
                )
                when = stamp(now + timedelta(seconds=wait))
                if not outbox_lease.retry_later(conn, job, when, failure.reason, failure.detail):
                    raise LeaseLost()
            log.info("delivery.retry", job=job.id, reason=failure.reason, wait=round(wait, 2))
            return
        self._dead(job, failure)

    def _dead(self, job: Job, failure: Failure) -> None:
        """A dead letter; when the claim held several jobs, which of them the EHR refused is not known:
        each goes again alone, so only the one at fault ends a dead letter."""
        now = stamp(self.clock())
        settle = outbox_lease.split if len(job.members) > 1 else outbox_lease.dead
        with writing(self.engine) as conn:
            outbox_lease.record_attempt(conn, job, now, failure.reason, failure.status, failure.detail)
            if not settle(conn, job, now, failure.reason, failure.detail):
                raise LeaseLost()
        if len(job.members) > 1:
            log.info("delivery.batch_split", job=job.id, jobs=len(job.members), reason=failure.reason)
            return
        log.warning("delivery.dead_letter", job=job.id, reason=failure.reason, status=failure.status)
