"""The people who use the workspace: one organisation each, a role that says what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PLANNER = "planner"  # reads the organisation's clients and deliveries, resolves waiting messages
    ADMIN = "admin"  # also sends dead letters again and links clients to their patients in the EHRs


ROLES = tuple(r.value for r in Role)


@dataclass(frozen=True)
class Person:
    id: str
    org_id: str
    name: str
    role: Role
    created_at: str
    disabled_at: str | None = None
    failures: int = 0  # failed sign-ins since the last good one
    locked_until: str | None = None
    generation: int = 0  # the sessions of this generation are valid; signing out counts it on

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def may(self, role: Role) -> bool:
        """Whether the person holds `role` (an admin holds the planner's too)."""
        return self.role is Role.ADMIN or self.role is role
