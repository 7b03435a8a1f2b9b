"""What the services need from outside that is not theirs to know the workings of, as small interfaces:
the bootstrap hands them the real parts, a test its own."""

from __future__ import annotations

from typing import Any, Protocol


class Contract(Protocol):
    """The case-management JSON contract: a record kind's payload → the domain record (raising Invalid
    naming every field at fault), and a domain record → its JSON (what is stored and answered)."""

    def load(self, kind: str, payload: Any) -> Any: ...

    def dump(self, record: Any) -> dict[str, Any]: ...
