"""CPU per PDF, side by side in one process: WeasyPrint as it comes (one kept font configuration, the page's
own stylesheet, the installed fonts: how documents were made before) against `documents.pdf.render` (the
Hangul font, fixed tables, each thread's kept configuration and stylesheet; the kept PDFs are bypassed).
The pages are a record's pages as the worker makes them from the Korean and the Hindi case files (the plan
with its goals, each assessment, each referral with its task, the episode with its care team). Rounds
alternate the two ways so machine noise hits both alike; `time.process_time` medians per page.
`BENCH_PDF_ROUNDS` (default 7). Alone: `.venv/bin/python -m tests.bench.pdf_cost`.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from fhir_adapter.api.schemas import load_case_file
from fhir_adapter.bootstrap import mappings
from fhir_adapter.config import Settings
from fhir_adapter.documents import narrative, pdf
from fhir_adapter.mapping.to_fhir_bundle import to_fhir_bundle
from tests.bench.service import ROOT

ROUNDS = int(os.environ.get("BENCH_PDF_ROUNDS", "7"))
CASES = ("discharge-kim", "admission-sharma")
GROUPS = (
    ("CarePlan", "Goal"),
    ("QuestionnaireResponse",),
    ("ServiceRequest", "Task"),
    ("EpisodeOfCare", "CareTeam"),
)


def case_pages(name: str) -> list[str]:
    """The case's record pages: one per main resource, with the resources that belong to it."""
    settings = Settings()
    case = load_case_file(json.loads((ROOT / "fixtures" / "cases" / f"{name}.json").read_text()))
    bundle = to_fhir_bundle(case, mappings(settings), settings.identity())
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    pages = []
    for main, *others in GROUPS:
        mains = [r for r in resources if r["resourceType"] == main]
        for n, record in enumerate(mains):
            with_it = [r for r in resources if r["resourceType"] in others]
            shown = [record, *(with_it if len(mains) == 1 else with_it[n : n + 1])]
            pages.append(narrative.render(f"{main} {n}", patient, shown, f"{name}, sent as a document"))
    return pages


def as_it_comes() -> Callable[[str], bytes]:
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    config = FontConfiguration()
    return lambda html: bytes(HTML(string=html).write_pdf(font_config=config) or b"")


def cpu(make: Callable[[str], bytes], html: str) -> float:
    start = time.process_time()
    make(html)
    return time.process_time() - start


def measure() -> dict[str, Any]:
    ways: dict[str, Callable[[str], bytes]] = {"before": as_it_comes(), "after": pdf.render}
    pages = {case: case_pages(case) for case in CASES}
    for make in ways.values():  # first documents: fonts loaded, the Hangul font made
        for html in pages[CASES[0]][:1] + pages[CASES[1]][:1]:
            make(html)
    took: dict[tuple[str, str, int], list[float]] = {}
    for _ in range(ROUNDS):
        for case, htmls in pages.items():
            for n, html in enumerate(htmls):
                for way, make in ways.items():
                    took.setdefault((way, case, n), []).append(cpu(make, html))
    return {key: statistics.median(values) for key, values in took.items()}


def run() -> None:
    medians = measure()
    print(f"CPU per PDF (median of {ROUNDS} renders per page, before/after alternated in one process)")
    for case in CASES:
        count = len({n for _, c, n in medians if c == case})
        before = [medians[("before", case, n)] for n in range(count)]
        after = [medians[("after", case, n)] for n in range(count)]
        print(
            f"  {case:<17} {count} pages: before median {statistics.median(before) * 1000:.0f} ms "
            f"(sum {sum(before) * 1000:.0f}), after median {statistics.median(after) * 1000:.0f} ms "
            f"(sum {sum(after) * 1000:.0f}); after/before {sum(after) / sum(before):.2f}"
        )


if __name__ == "__main__":
    run()
