"""SMART-style system scopes: `system/CarePlan.read`, `system/*.write` (v1) and `system/Task.rs` (v2).

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html . AuditEvent is granted only by name:
`system/*.read` does not open the audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SCOPE_RE = re.compile(r"^system/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*|c?r?u?d?s?)$")
V1 = {"read": frozenset({"read", "search"}), "write": frozenset({"create", "update", "delete"})}
V1["*"] = V1["read"] | V1["write"]
LETTERS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
NAMED_ONLY = frozenset({"AuditEvent"})


def parse(text: str) -> frozenset[str]:
    """The scopes of a space-separated list; ValueError names the first that is not a system scope."""
    scopes = frozenset(text.split())
    for scope in scopes:
        match = SCOPE_RE.match(scope)
        if not match or not match.group(2):
            raise ValueError(f"not a system scope: {scope!r} (e.g. system/CarePlan.read, system/*.write)")
    return scopes


Grants = frozenset[tuple[str, str]]


def grants(scopes: Iterable[str]) -> Grants:
    """The (resource type or *, action) pairs the scopes grant, worked out once per token; text that is not
    a system scope grants nothing."""
    out = set()
    for scope in scopes:
        match = SCOPE_RE.match(scope)
        if match and match.group(2):
            target, permission = match.groups()
            out |= {(target, a) for a in V1.get(permission) or frozenset(LETTERS[c] for c in permission)}
    return frozenset(out)


def allows(granted: Grants, resource_type: str, action: str) -> bool:
    """Whether `action` (read, search, create, update, delete) on `resource_type` is granted."""
    if (resource_type, action) in granted:
        return True
    return resource_type not in NAMED_ONLY and ("*", action) in granted


def needed(resource_type: str, action: str) -> str:
    """The v1 scope to name in a 403 for a missing permission."""
    return f"system/{resource_type}.{'read' if action in ('read', 'search') else 'write'}"
