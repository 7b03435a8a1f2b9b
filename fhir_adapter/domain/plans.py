"""Service plan rules: review dates and versions."""

from __future__ import annotations

from datetime import date

from fhir_adapter.domain.errors import DomainError

SENSITIVE_CASE_TYPES = frozenset({"substance-use"})


def default_next_review(start: str | None, today: date) -> str:
    """Plans are reviewed yearly unless the case manager says otherwise: one year after the start."""
    base = date.fromisoformat(start[:10]) if start and len(start) >= 10 else today
    if base.year == date.max.year:
        raise DomainError(
            "a plan starting in 9999 has no default review date: give next_review", "next_review"
        )
    try:
        return base.replace(year=base.year + 1).isoformat()
    except ValueError:  # 29 February
        return base.replace(year=base.year + 1, day=28).isoformat()


def is_sensitive_case_type(case_type: str) -> bool:
    """Substance-use treatment records fall under 42 CFR Part 2 and are always sensitive."""
    return case_type in SENSITIVE_CASE_TYPES
