"""Turn marshmallow's nested error messages into one line per field path."""

from __future__ import annotations

from typing import Any


class Rule(str):
    """The message of a rule no JSON Schema can state (an order of two dates, ids unique in a list): its 422
    issue has the code business-rule, where a body of the wrong shape has invalid."""

    __slots__ = ()


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
    # A str of a subclass (common.Rule) is kept as it is: its type says what kind of problem it is.
    return [(path or "(top)", messages if isinstance(messages, str) else str(messages))]
