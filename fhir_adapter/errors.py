"""Turn marshmallow's nested error messages into one line per field path."""

from __future__ import annotations

from typing import Any


def flatten_messages(messages: Any, path: str = "") -> list[tuple[str, str]]:
    """{'client': {'names': {0: {'text': ['bad']}}}} → [('client.names[0].text', 'bad')]."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            if isinstance(key, int):
                sub = f"{path}[{key}]"
            elif key == "_schema":
                sub = path
            else:
                sub = f"{path}.{key}" if path else str(key)
            out += flatten_messages(value, sub)
        return out
    if isinstance(messages, list):
        return [pair for m in messages for pair in flatten_messages(m, path)]
    return [(path or "(top)", str(messages))]
