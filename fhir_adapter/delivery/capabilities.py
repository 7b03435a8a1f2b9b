"""What an EHR lets us write, per resource type: from its CapabilityStatement, the scopes its token endpoint
granted, a site's overrides, and the refusals it gave (a 403 or 405 on a type).

Each type comes to one way of writing it:
  put          PUT to our id (the server creates on update): idempotent, and in a transaction Bundle where
               the server takes transactions
  conditional  conditional update on the business identifier (`PUT Goal?identifier=system|value`)
  document     the record it belongs to goes as a DocumentReference (plan of care note, evaluation note,
               referral note) — the type is read-only there, unknown, or can only be created (a record of
               ours changes; what can only be created could never be brought up to date)
A type needs `delete` too for what a job removes; where the EHR cannot delete, the removal is logged.

The profiles the statement names for a type (`profile` and `supportedProfile`) are kept, but a claim of
conformance is not a permission: they decide no way. Where they miss every profile ours claim, that is said
(delivery/profiles.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

WAYS = ("put", "conditional", "document")
WRITES = ("create", "update", "delete")
BASE_DEFINITION = "http://hl7.org/fhir/StructureDefinition/"  # + a type: the type's own definition


@dataclass(frozen=True)
class TypeRules:
    """What the statement says of one type."""

    interactions: frozenset[str]
    update_create: bool = False
    conditional_update: bool = False
    conditional_create: bool = False
    profiles: frozenset[str] = frozenset()  # canonicals as the EHR gives them, `|version` and all

    def to_json(self) -> dict[str, Any]:
        return {
            "interactions": sorted(self.interactions),
            "update_create": self.update_create,
            "conditional_update": self.conditional_update,
            "conditional_create": self.conditional_create,
            "profiles": sorted(self.profiles),
        }


@dataclass(frozen=True)
class Capabilities:
    transaction: bool
    types: Mapping[str, TypeRules]
    scopes: str | None = None  # as granted (None: not known, or no SMART authorisation)
    overrides: Mapping[str, str] = field(default_factory=dict)  # type → a way, set by the site
    refused: Mapping[str, str] = field(default_factory=dict)  # type → what the EHR answered a write of it

    def allows(self, rtype: str, interaction: str) -> bool:
        rules = self.types.get(rtype)
        granted = interaction not in WRITES or scope_allows(self.scopes, rtype, interaction)
        return rules is not None and interaction in rules.interactions and granted

    def way(self, rtype: str) -> str:
        """put | conditional | document: how a resource of this type is written."""
        if rtype in self.overrides:
            return self.overrides[rtype]
        rules = self.types.get(rtype)
        if rules is None or rtype in self.refused or not self.allows(rtype, "update"):
            return "document"
        if rules.update_create:
            return "put"
        return "conditional" if rules.conditional_update else "document"

    def creates(self, rtype: str) -> bool:
        """A resource of this type can be created once, found again by a search (If-None-Exist)."""
        rules = self.types.get(rtype)
        return rules is not None and rules.conditional_create and self.allows(rtype, "create")

    def transaction_for(self, rtypes: Iterable[str]) -> bool:
        """One transaction Bundle of PUTs to our ids: the server takes transactions and every type is put."""
        return self.transaction and all(self.way(t) == "put" for t in rtypes)

    def to_json(self) -> dict[str, Any]:
        return {
            "transaction": self.transaction,
            "types": {t: r.to_json() for t, r in sorted(self.types.items())},
            "scopes": self.scopes,
            "refused": dict(self.refused),
        }

    def profiles(self, rtype: str) -> frozenset[str]:
        """The profiles the EHR names for the type (none: it names none, or does not know the type)."""
        rules = self.types.get(rtype)
        return rules.profiles if rules is not None else frozenset()

    def meets(self, rtype: str, claimed: Iterable[str]) -> bool:
        """Whether one of the profiles claimed is among those the EHR names for the type, versions aside;
        true where it names none, or ours claim none, or it names the type's base definition (which every
        resource of the type meets)."""
        named = {unversioned(p) for p in self.profiles(rtype)}
        met = {unversioned(p) for p in claimed} | {f"{BASE_DEFINITION}{rtype}"}
        return not named or met == {f"{BASE_DEFINITION}{rtype}"} or bool(named & met)

    def table(self) -> dict[str, str]:
        """Each type the EHR names, or a site overrides, with the way it is written: what `ehrs show` prints."""
        return {t: self.way(t) for t in sorted(set(self.types) | set(self.overrides))}


def of_json(data: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> Capabilities:
    types = {
        t: TypeRules(
            frozenset(r.get("interactions", [])),
            bool(r.get("update_create")),
            bool(r.get("conditional_update")),
            bool(r.get("conditional_create")),
            frozenset(r.get("profiles", [])),  # kept before profiles were read: none
        )
        for t, r in data.get("types", {}).items()
    }
    return Capabilities(
        bool(data.get("transaction")),
        types,
        data.get("scopes"),
        dict(overrides or {}),
        data.get("refused", {}),
    )


def from_statement(statement: Mapping[str, Any], scopes: str | None = None) -> Capabilities:
    """What an R4 CapabilityStatement's server `rest` says: its system interactions and, per resource, its
    interactions, updateCreate, conditionalUpdate, conditionalCreate, profile and supportedProfile."""
    rests = statement.get("rest") or []
    rest: Mapping[str, Any] = next((r for r in rests if r.get("mode") == "server"), {})
    system = {i.get("code") for i in rest.get("interaction", [])}
    types = {
        str(r["type"]): TypeRules(
            frozenset(str(i.get("code")) for i in r.get("interaction", [])),
            bool(r.get("updateCreate")),
            bool(r.get("conditionalUpdate")),
            bool(r.get("conditionalCreate")),
            _named_profiles(r),
        )
        for r in rest.get("resource", [])
        if r.get("type")
    }
    return Capabilities("transaction" in system, types, scopes)


def _named_profiles(resource: Mapping[str, Any]) -> frozenset[str]:
    """`profile` (the base profile of the type) and each `supportedProfile`, as given."""
    named = [resource.get("profile"), *(resource.get("supportedProfile") or [])]
    return frozenset(str(p) for p in named if isinstance(p, str) and p)


def unversioned(canonical: str) -> str:
    """A canonical URL without its `|version`."""
    return canonical.split("|", 1)[0]


def scope_allows(scopes: str | None, rtype: str, interaction: str) -> bool:
    """Whether SMART scopes (v1 `system/Goal.write`, `system/*.*`; v2 `system/Goal.cud`) cover a create,
    update or delete of the type. No scopes known: the statement decides alone."""
    if scopes is None:
        return True
    letter = {"create": "c", "update": "u", "delete": "d"}[interaction]
    for scope in scopes.split():
        context, _, rest = scope.partition("/")
        what, _, access = rest.partition(".")
        if context not in ("system", "user", "patient") or what not in (rtype, "*"):
            continue
        access = access.split("?")[0]
        if access in ("write", "*") or (access and set(access) <= set("cruds") and letter in access):
            return True
    return False


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`Type=way` pairs from the command line; ValueError naming the first that is not one."""
    found = {}
    for pair in pairs:
        rtype, _, way = pair.partition("=")
        if not rtype.isalpha() or not rtype[:1].isupper() or way not in WAYS:
            raise ValueError(
                f"{pair!r}: give a resource type and one of {', '.join(WAYS)} (CarePlan=document)"
            )
        found[rtype] = way
    return found
