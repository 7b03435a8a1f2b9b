"""What every FHIR → case-management mapping shares: reference resolution, our identifiers, findings.

A finding is an element of the input that the records cannot carry, or a choice the mapping made; the
reverse mappings report every one of them instead of dropping data silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.domain.records import Coding, Identifier, Period, Person
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.kinds import RESOURCE_TYPES
from fhir_adapter.mapping.to_fhir_common import CONFIDENTIALITY, EPISODE_EXTENSION, V2_0203

JSON = dict[str, Any]
ALWAYS_HANDLED = frozenset({"resourceType", "id", "meta", "text", "language", "implicitRules"})
IDENTIFIER_TYPES = frozenset({"MR", "PI", "PT", "SS", "DL", "PPN", "MA", "MC", "AN", "XX"})


@dataclass(frozen=True)
class Finding:
    path: str
    message: str
    severity: str = "warning"  # warning: not carried over; information: a choice the mapping made

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


@dataclass
class ReverseContext:
    catalogue: Catalogue
    identity: Identity
    client_id: str | None = None
    entries: dict[str, JSON] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # Resources the receiver already holds, by relative reference (Type/id): what the input refers to
    # without carrying it, e.g. the Goals a CarePlan sent back names.
    lookup: Callable[[str], JSON | None] | None = None
    # Questionnaires the sender serves, by canonical (`url|version` as a response names it): the words of
    # an instrument we do not hold, when the input does not carry it.
    instruments: Mapping[str, JSON] = field(default_factory=dict)
    # The resources of the input by identity, with the id each one's record takes when it carries none of
    # ours: its own id, or for a Bundle entry without one the UUID of its urn:uuid fullUrl.
    local_ids: dict[int, str] = field(default_factory=dict)

    def report(self, path: str, message: str, severity: str = "warning") -> None:
        self.findings.append(Finding(path, message, severity))

    def add_entry(self, resource: JSON, full_url: str | None = None) -> None:
        if full_url:
            self.entries[full_url] = resource
        if resource.get("id"):
            self.entries[f"{resource['resourceType']}/{resource['id']}"] = resource
        from_url = full_url.removeprefix("urn:uuid:") if full_url and full_url.startswith("urn:uuid:") else ""
        self.local_ids[id(resource)] = str(resource.get("id") or from_url)

    def resolve(self, ref: JSON | None) -> JSON | None:
        """The resource a literal reference names, when the input holds it or the receiver has it."""
        url = (ref or {}).get("reference")
        if not isinstance(url, str):
            return None
        if url in self.entries:
            return self.entries[url]
        tail = "/".join(url.split("/_history")[0].rstrip("/").split("/")[-2:])
        found = self.entries.get(tail)
        if found is None and self.lookup is not None and tail.count("/") == 1:
            return self.lookup(tail)
        return found

    def our_id(self, resource: JSON | None, kind: str) -> str | None:
        """The record id our business identifier of this kind carries, if the resource has one."""
        if resource is None:
            return None
        idents = resource.get("identifier", [])
        for ident in idents if isinstance(idents, list) else [idents]:
            if ident.get("system") == self.identity.system(kind) and ident.get("value"):
                return str(ident["value"])
        return None

    def record_id(self, resource: JSON, kind: str, path: str) -> str:
        """Our id when the resource carries it; otherwise the sender's resource id, said so in a finding."""
        ours = self.our_id(resource, kind)
        if ours:
            return ours
        theirs = self.local_ids.get(id(resource)) or resource.get("id") or ""
        self.report(
            path, f"no case-management identifier: the record takes the resource id {theirs!r}", "information"
        )
        return str(theirs)

    def ref_id(self, ref: JSON | None, kind: str) -> str | None:
        """The record id a reference points at: through the resource it resolves to, or its logical identifier."""
        if not ref:
            return None
        found = self.resolve(ref)
        ours = self.our_id(found, kind)
        if ours:
            return ours
        if found is not None and found.get("resourceType") == RESOURCE_TYPES.get(kind):
            # an entry of the input, which becomes a record of its own: the id that record takes
            local = self.local_ids.get(id(found))
            if local:
                return local
        ident = ref.get("identifier") or {}
        if ident.get("system") == self.identity.system(kind):
            return str(ident.get("value"))
        return None

    def client_of(self, ref: JSON | None, path: str) -> str:
        """The client a subject reference names; unlinked patients are reported, never guessed."""
        found = self.ref_id(ref, "client")
        if found:
            return found
        if self.client_id:
            return self.client_id
        literal = str((ref or {}).get("reference") or (ref or {}).get("display") or "unknown")
        self.report(path, f"{literal} is linked to no client: the record keeps the reference as client_id")
        return literal

    def person(self, ref: JSON | None, path: str) -> Person | None:
        if not ref:
            return None
        ident = ref.get("identifier") or {}
        person_id = ident.get("value") if ident.get("system") == self.identity.system("person") else None
        resolved = self.resolve(ref)
        name = ref.get("display") or _name_text(resolved) or ref.get("reference")
        if not name:
            self.report(path, "a person with neither a name nor a reference")
            return None
        self.said_of_reference(ref, path, str(name), person_id is not None)
        return Person(name=str(name), id=person_id)

    def said_of_reference(self, ref: JSON, path: str, name: str, identified: bool) -> None:
        """What of a reference to someone is not the name (or our identifier) the record keeps is named."""
        if ref.get("reference") and ref.get("reference") != name:
            self.report(f"{path}.reference", f"{ref['reference']} is kept by its name", "information")
        if ref.get("identifier") and not identified:
            self.report(f"{path}.identifier", "an identifier of someone not ours is not carried")
        for key in ref:
            if key not in ("reference", "display", "identifier", "type"):
                self.report(f"{path}.{key}", f"Reference.{key} is not carried into the case record")

    def episode_of(self, resource: JSON, path: str) -> str | None:
        for i, ext in enumerate(resource.get("extension", [])):
            if ext.get("url") == EPISODE_EXTENSION:
                found = self.ref_id(ext.get("valueReference"), "episode")
                if found is None:
                    self.report(f"{path}.extension[{i}]", "episode of care not found among our records")
                return found
        return None


def _name_text(resource: JSON | None) -> str | None:
    for name in (resource or {}).get("name", []) if isinstance((resource or {}).get("name"), list) else []:
        text = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip()
        if text:
            return str(text)
    return None


def report_unhandled(ctx: ReverseContext, resource: JSON, handled: frozenset[str], path: str) -> None:
    """Every top-level element the mapping does not read is reported, so nothing is lost silently."""
    rtype = resource["resourceType"]
    for key in resource:
        if key.startswith("_"):
            ctx.report(
                f"{path}.{key}", f"the extensions on {rtype}.{key[1:]} are not carried into the case record"
            )
        elif key not in handled and key not in ALWAYS_HANDLED:
            ctx.report(f"{path}.{key}", f"{rtype}.{key} is not carried into the case record")
    if resource.get("text", {}).get("status") == "additional":
        ctx.report(
            f"{path}.text", "the narrative holds more than the structured data; that part is not carried"
        )


def report_extensions(ctx: ReverseContext, node: JSON, known: frozenset[str], path: str) -> None:
    for i, ext in enumerate(node.get("extension", [])):
        if ext.get("url") not in known:
            ctx.report(
                f"{path}.extension[{i}]", f"extension {ext.get('url')} is not carried into the case record"
            )
    for i, ext in enumerate(node.get("modifierExtension", [])):
        ctx.report(f"{path}.modifierExtension[{i}]", f"modifier extension {ext.get('url')} is not understood")


def is_sensitive(resource: JSON) -> bool:
    labels = resource.get("meta", {}).get("security", [])
    return any(s.get("system") == CONFIDENTIALITY and s.get("code") in ("R", "V") for s in labels)


def period_from(value: JSON | None) -> Period | None:
    if not value:
        return None
    return Period(start=value.get("start"), end=value.get("end"))


def coding_from(value: JSON, ctx: ReverseContext, path: str) -> Coding | None:
    """A coding as the records keep it; one without a code (display only) is reported and not kept."""
    if not value.get("code"):
        ctx.report(path, f"a coding without a code ({value.get('display') or 'no display'}) is not carried")
        return None
    return Coding(code=str(value["code"]), system=value.get("system"), display=value.get("display"))


def concept_text(concept: JSON | None) -> str | None:
    if not concept:
        return None
    if concept.get("text"):
        return str(concept["text"])
    return next((str(c["display"]) for c in concept.get("coding", []) if c.get("display")), None)


def identifier_from(
    value: JSON, ctx: ReverseContext, path: str, default_type: str = "MR"
) -> Identifier | None:
    """Another system's typed identifier; one without system or value cannot be kept."""
    if not value.get("system") or not value.get("value"):
        ctx.report(path, "an identifier without system or value is not kept")
        return None
    codes = [c.get("code") for c in value.get("type", {}).get("coding", []) if c.get("system") == V2_0203]
    id_type = codes[0] if codes and codes[0] in IDENTIFIER_TYPES else default_type
    if not codes or codes[0] not in IDENTIFIER_TYPES:
        ctx.report(
            f"{path}.type",
            f"identifier type {codes[0] if codes else '(none)'} is kept as {default_type}",
            "information",
        )
    assigner = (value.get("assigner") or {}).get("display")
    return Identifier(system=str(value["system"]), value=str(value["value"]), type=id_type, assigner=assigner)


def key_for_concept(ctx: ReverseContext, table: str, concept: JSON | None) -> str | None:
    """The table key of the first coding the table knows; a text-only concept matches a text-only entry."""
    t = ctx.catalogue.tables[table]
    for coding in (concept or {}).get("coding", []):
        key = t.key_for_coding(coding.get("system"), coding.get("code"))
        if key:
            return key
    text = (concept or {}).get("text")
    if concept and not concept.get("coding") and text:
        return next((k for k, e in t.entries.items() if "code" not in e and e.get("text") == text), None)
    return None
