"""Code tables from mappings/tables: case-management values → FHIR codes, and back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class CodeTable:
    """Either a coding table (key → system/code/display) or a code map (key → one code per column)."""

    name: str
    entries: dict[str, JSON]
    system: str | None = None
    columns: tuple[str, ...] = ()
    reverse_extra: dict[str, dict[str, str]] = field(default_factory=dict)

    def entry(self, key: str) -> JSON:
        return self.entries[key]

    def coding(self, key: str) -> JSON | None:
        """The Coding for a key, or None for a text-only entry."""
        e = self.entries[key]
        if "code" not in e:
            return None
        coding = {"system": e.get("system", self.system), "code": e["code"]}
        if "display" in e:
            coding["display"] = e["display"]
        return coding

    def concept(self, key: str) -> JSON:
        """A CodeableConcept: the coding when there is one, and the display as text."""
        e = self.entries[key]
        coding = self.coding(key)
        concept: JSON = {"coding": [coding]} if coding else {}
        text = e.get("text") or e.get("display")
        if text:
            concept["text"] = text
        return concept

    def code(self, key: str, column: str) -> str:
        return str(self.entries[key][column])

    def __post_init__(self) -> None:
        index = {(e.get("system", self.system), e["code"]): k for k, e in self.entries.items() if "code" in e}
        object.__setattr__(self, "_by_coding", index)

    def key_for_coding(self, system: str | None, code: str | None) -> str | None:
        """The key whose coding is (system, code); None when the table has no such code."""
        by_coding: dict[tuple[str | None, str | None], str] = self.__dict__["_by_coding"]
        return by_coding.get((system, code))

    def key_for_code(self, column: str, code: str) -> str | None:
        """The key a FHIR code of one column means: the table's `reverse` section first, then the first entry."""
        preferred = self.reverse_extra.get(column, {}).get(code)
        if preferred:
            return preferred
        return next((key for key, e in self.entries.items() if e.get(column) == code), None)
