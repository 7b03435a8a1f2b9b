"""`make bench`: map + validate throughput of a discharge Bundle against bare R4B validation, then the HTTP
service under gunicorn against its own ceiling (tests/bench/service.py), then delivery to an EHR by the
workers (tests/bench/delivery.py), admissions to the restrictive EHR as documents beside the full EHR
(tests/bench/documents.py), then HL7 v2 ADT over MLLP: ACK latency and admission to the EHR
(tests/bench/adt.py)."""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from collections.abc import Callable

from fhir.resources.R4B.bundle import Bundle

from fhir_adapter.api.schemas import load_case_file
from fhir_adapter.mapping.errors import FhirValidationError
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.loader import load_catalogue
from fhir_adapter.mapping.to_fhir_bundle import to_fhir_bundle
from fhir_adapter.mapping.validation import ensure_valid_bundle
from tests.bench import adt, delivery, documents, service
from tests.bench.discharge import discharge_case

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity)"


def _interleaved(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Time each callable once per round, alternating, so machine noise hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    where = _pin_one_core()
    catalogue = load_catalogue()
    identity = Identity("bench", "cms", "https://cms.example.org/ids")
    raw = discharge_case(catalogue)
    case = load_case_file(raw)
    bundle = ensure_valid_bundle(to_fhir_bundle(case, catalogue, identity), catalogue)
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])

    def map_and_validate() -> None:
        ensure_valid_bundle(to_fhir_bundle(case, catalogue, identity), catalogue)

    def load_map_validate() -> None:
        ensure_valid_bundle(to_fhir_bundle(load_case_file(raw), catalogue, identity), catalogue)

    def bare_validate() -> None:
        Bundle.model_validate(bundle)

    runs = {
        "map+validate": map_and_validate,
        "bare R4B": bare_validate,
        "load+map+validate": load_map_validate,
    }
    _interleaved(runs, 20)  # warm-up
    times = _interleaved(runs, ROUNDS)
    med = {name: statistics.median(t) for name, t in times.items()}
    p95 = {name: statistics.quantiles(t, n=20)[-1] for name, t in times.items()}
    print(
        f"mapping benchmark: {len(bundle['entry'])} resources per Bundle ({dict(kinds)}); {ROUNDS} rounds; {where}"
    )
    for name in runs:
        print(
            f"  {name:<18} median {med[name] * 1000:7.2f} ms  p95 {p95[name] * 1000:7.2f} ms  {1 / med[name]:7.1f} bundles/s"
        )
    ratio = med["map+validate"] / med["bare R4B"]
    rate = 1 / med["map+validate"]
    print(f"  map+validate bundles/s: {rate:.1f} (target >= 100: {'met' if rate >= 100 else 'NOT met'})")
    print(
        f"  ratio map+validate / bare R4B model_validate: {ratio:.2f} (target <= 2.0: {'met' if ratio <= 2.0 else 'NOT met'})"
    )


if __name__ == "__main__":
    try:
        main()
    except FhirValidationError as err:
        raise SystemExit(f"the benchmark Bundle is not valid: {err}") from err
    print()
    service.main()
    print()
    delivery.main()
    print()
    documents.main()
    print()
    adt.main()
