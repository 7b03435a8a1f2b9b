"""PDFs made in processes of their own, kept for the life of the worker.

WeasyPrint lays a page out in Python and holds the interpreter's lock while it does: threads of the worker
could never make PDFs on more than one core between them, and the worker's own work (reading the records,
waiting on the EHR) queued behind them. RENDERERS processes, started with `spawn` (no copy of the worker's
threads and connections), each keep their font configuration (pdf.py) and make a first page when they start
(`warm`, when a worker starts). A page already made (a resend of the same record version) comes from the
PDFs the worker keeps, without asking them.

A renderer that dies (a crash in Pango, say) breaks the pool: the pages it held fail (the job is tried
again) and the next page starts new renderers. A renderer ends when the process that started it ends,
however it ends (SIGKILL included): it watches for its parent.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from fhir_adapter.documents import narrative, pdf

RENDERERS = 2  # processes making PDFs: each a core's worth of layout
# A page in each script we write, with a facts table: what a first real page would set up.
WARM_PAGE = narrative.render(
    "Plan of care note",
    {"name": [{"text": "김민준"}, {"text": "अनन्या शर्मा"}]},
    [{"resourceType": "Goal", "description": {"text": "주거 안정 · स्थिर आवास"}, "lifecycleStatus": "active"}],
    "a first page",
)
_lock = threading.Lock()
_pools: list[ProcessPoolExecutor] = []


def _orphaned(parent: int) -> None:
    """In a renderer: end it once the process that started it is gone (its parent is no longer it)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _start(parent: int) -> None:
    """A renderer's start: watch for its parent, then make a first page (fonts, WeasyPrint loaded)."""
    threading.Thread(target=_orphaned, args=(parent,), name="parent-watch", daemon=True).start()
    pdf.render(WARM_PAGE)


def _pool() -> ProcessPoolExecutor:
    with _lock:
        if not _pools:
            context = multiprocessing.get_context("spawn")
            _pools.append(ProcessPoolExecutor(RENDERERS, context, _start, (os.getpid(),)))
        return _pools[0]


def _broken(pool: ProcessPoolExecutor) -> None:
    """Let a broken pool go: the next page starts new renderers."""
    with _lock:
        if _pools and _pools[0] is pool:
            _pools.clear()
    pool.shutdown(wait=False, cancel_futures=True)


def _keep(html: str, made: Future[bytes]) -> None:
    if not made.cancelled() and made.exception() is None:
        pdf.keep(html, made.result())


def pdf_of(html: str) -> Future[bytes]:
    """The page's PDF, when it is made: the one kept for the same page, else made by a renderer."""
    kept = pdf.kept(html)
    if kept is not None:
        done: Future[bytes] = Future()
        done.set_result(kept)
        return done
    pool = _pool()
    try:
        made = pool.submit(pdf.render, html)
    except BrokenProcessPool:
        _broken(pool)
        made = _pool().submit(pdf.render, html)
    made.add_done_callback(partial(_keep, html))
    return made


def warm() -> None:
    """Every renderer started and its first page made (each is asked while none has answered yet, so each
    question starts one)."""
    pool = _pool()
    try:
        for started in [pool.submit(os.getpid) for _ in range(RENDERERS)]:
            started.result()
    except BrokenProcessPool:
        _broken(pool)
        raise
