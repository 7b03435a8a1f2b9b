"""Times as the admission benchmark prints them: milliseconds, and percentiles."""

from __future__ import annotations

import statistics


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def pct(values: list[float], p: int) -> float:
    """The p-th percentile (statistics.quantiles, inclusive method: never beyond the largest)."""
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]
