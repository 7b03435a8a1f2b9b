"""The renderer processes a worker makes its PDFs in: started and warm before the first job, the PDF of a
page the same as one made in the worker itself, a dead renderer replaced at the next page, and no renderer
outliving the process that started it, however that process ends."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from fhir_adapter.documents import pdf, renderers
from tests.support.fonts import require_script_fonts
from tests.unit.test_pdf import HINDI, KOREAN, page, text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def installed_fonts() -> None:
    require_script_fonts()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended: only its exit status is left
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_warming_starts_every_renderer_and_their_pages_read_as_the_page() -> None:
    renderers.warm()
    started = renderers._pool()._processes
    assert len(started) == renderers.RENDERERS and all(p.is_alive() for p in started.values())
    html = page(*KOREAN).replace("안정된", "새로 안정된")
    made = renderers.pdf_of(html).result(timeout=60)
    assert made.startswith(b"%PDF-") and "새로 안정된" in text(made)
    assert renderers.pdf_of(html).result() is made  # kept: the same page is not made again


def test_a_renderer_that_dies_is_replaced_at_the_next_page() -> None:
    renderers.warm()
    pool = renderers._pool()
    victim = next(iter(pool._processes.values()))
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(timeout=10)
    html = page(*HINDI).replace("नियमित", "नियमित दोबारा")
    deadline = time.monotonic() + 60
    while True:  # the pool learns of the death on its own thread: a page may still meet it whole
        try:
            made = renderers.pdf_of(html).result(timeout=60)
            break
        except renderers.BrokenProcessPool:
            assert time.monotonic() < deadline
    assert "नियमित दोबारा" in text(made)
    assert renderers._pool() is not pool


def test_no_renderer_outlives_the_worker_killed() -> None:
    program = "from fhir_adapter.documents import renderers; renderers.warm(); " + (
        "print(*[p.pid for p in renderers._pool()._processes.values()], flush=True); input()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", program],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the killed process's semaphores, reported by its resource tracker
        text=True,
    ) as worker:
        try:
            pids = [int(p) for p in (worker.stdout.readline() if worker.stdout else "").split()]
            assert len(pids) == renderers.RENDERERS and all(_alive(p) for p in pids)
            worker.kill()
            worker.wait(timeout=10)
            deadline = time.monotonic() + 10
            while any(_alive(p) for p in pids) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not [p for p in pids if _alive(p)]
        finally:
            worker.kill()


def test_a_page_made_by_a_renderer_is_the_page_made_here() -> None:
    html = page(*HINDI).replace("नियमित", "नियमित तुलना")
    here = PdfReader(io.BytesIO(pdf.render(html)))
    there = PdfReader(io.BytesIO(renderers.pdf_of(html).result(timeout=60)))
    assert [p.extract_text() for p in here.pages] == [p.extract_text() for p in there.pages]
