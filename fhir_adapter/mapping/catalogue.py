"""The loaded mappings: code tables, questionnaire definitions, structures and invariants."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.mapping.terminology import CodeTable

JSON = dict[str, Any]


@dataclass(frozen=True)
class ItemDef:
    """One question of an instrument; `extract` marks it for SDC observation-based extraction."""

    link_id: str
    text: str
    type: str
    code: JSON | None = None
    repeats: bool = False
    required: bool = False
    options: tuple[JSON, ...] = ()
    unit: JSON | None = None
    extract: JSON | None = None

    def option(self, code: str) -> JSON | None:
        return next((o for o in self.options if o["code"] == code), None)

    def option_for(self, system: str | None, code: str) -> JSON | None:
        return next((o for o in self.options if o["code"] == code and o.get("system") == system), None)


@dataclass(frozen=True)
class QuestionnaireDef:
    kind: str
    name: str
    title: str
    version: str
    url: str
    items: tuple[ItemDef, ...]
    code: JSON | None = None

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}"

    def item(self, link_id: str) -> ItemDef | None:
        return self.__dict__["_by_link"].get(link_id)  # type: ignore[no-any-return]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_link", {i.link_id: i for i in self.items})


Rule = Callable[[Any], Any]


@dataclass(frozen=True)
class Structure:
    """A compiled structure mapping: element name → rule, in output order."""

    name: str
    resource: str
    identity: str
    rules: tuple[tuple[str, Rule], ...]
    profile: str | None = None


@dataclass(frozen=True)
class Invariant:
    key: str
    resource: str
    guards: tuple[tuple[str, ...], ...]  # element paths: evaluated only when one of them is present
    human: str
    expression: str
    evaluate: Callable[..., list[Any]]


@dataclass(frozen=True)
class Catalogue:
    canonical_base: str
    tables: dict[str, CodeTable]
    questionnaires: dict[str, QuestionnaireDef]
    structures: dict[str, Structure]
    invariants: dict[str, tuple[Invariant, ...]]
    # Questionnaire resources rendered from the definitions and validated once, at load time.
    published: dict[str, JSON] = field(default_factory=dict)

    def questionnaire_by_url(self, url: str) -> QuestionnaireDef | None:
        base = url.split("|", 1)[0]
        return next((q for q in self.questionnaires.values() if q.url == base), None)

    def is_published(self, resource: JSON) -> bool:
        """Whether a resource is one of our published Questionnaires, unchanged (its id aside)."""
        if resource.get("resourceType") != "Questionnaire":
            return False
        q = self.questionnaire_by_url(str(resource.get("url", "")))
        if q is None or resource.get("version") != q.version:
            return False
        return {k: v for k, v in resource.items() if k != "id"} == self.published.get(q.kind)
