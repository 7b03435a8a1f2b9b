"""What another system said, kept whole beside what our vocabulary makes of it: coded concepts, its own
identifiers, references to things we do not hold, schedules, notes and task outputs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Coding:
    """A code from a code system, as another system sent it."""

    code: str
    system: str | None = None
    display: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Concept:
    """A coded concept as another system sent it: every coding and the text."""

    codings: tuple[Coding, ...] = ()
    text: str | None = None


@dataclass(frozen=True)
class SourceIdentifier:
    """A business identifier another system gave a record (a hospital's order number, plan number)."""

    value: str
    system: str | None = None
    use: str | None = None
    type: Concept | None = None
    assigner: str | None = None


@dataclass(frozen=True)
class Reference:
    """A reference to something we do not hold as a record: the hospital's Condition, Observation, ..."""

    reference: str | None = None
    type: str | None = None
    display: str | None = None
    identifier: SourceIdentifier | None = None


@dataclass(frozen=True)
class Note:
    """A note as written: its text, who wrote it and when."""

    text: str
    author: str | None = None
    time: str | None = None


@dataclass(frozen=True)
class Schedule:
    """When something happens (a FHIR Timing): named times, a repeat pattern, and the words for it."""

    events: tuple[str, ...] = ()
    code: Concept | None = None
    bounds_start: str | None = None
    bounds_end: str | None = None
    count: int | None = None
    duration: float | None = None
    duration_unit: str | None = None
    frequency: int | None = None
    period: float | None = None
    period_unit: str | None = None
    days_of_week: tuple[str, ...] = ()
    times_of_day: tuple[str, ...] = ()
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class Output:
    """One result a task reports: its type and its value (text, a concept or a reference)."""

    type: Concept
    text: str | None = None
    concept: Concept | None = None
    reference: Reference | None = None
