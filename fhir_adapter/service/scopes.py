"""SMART-style system scopes: `system/CarePlan.read`, `system/*.write` (v1) and `system/Task.rs` (v2).

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html . AuditEvent is granted only by name:
`system/*.read` does not open the audit trail.
"""

from __future__ import annotations

import re

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


def allows(scopes: frozenset[str], resource_type: str, action: str) -> bool:
    """Whether the scopes grant `action` (read, search, create, update, delete) on `resource_type`."""
    for scope in scopes:
        match = SCOPE_RE.match(scope)
        if not match:
            continue
        target, permission = match.groups()
        if target == "*" and resource_type in NAMED_ONLY:
            continue
        if target not in ("*", resource_type):
            continue
        actions = V1.get(permission) or frozenset(LETTERS[c] for c in permission)
        if action in actions:
            return True
    return False


def needed(resource_type: str, action: str) -> str:
    """The v1 scope to name in a 403 for a missing permission."""
    return f"system/{resource_type}.{'read' if action in ('read', 'search') else 'write'}"
