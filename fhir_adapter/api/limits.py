"""Bounds on what a request body may hold: nesting depth, string length, array length."""

from __future__ import annotations

from typing import Any

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_STRING = 65_536
MAX_ARRAY = 10_000
MAX_BUNDLE_ENTRIES = 500


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def first_violation(data: Any) -> tuple[str, str] | None:
    """(element path, what is wrong) for the first value beyond the bounds, or None. Iterative: no recursion."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return path or "(top)", f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(node, str):
            if len(node) > MAX_STRING:
                return path or "(top)", f"a string longer than {MAX_STRING} characters"
            if "\x00" in node:
                return path or "(top)", "a string with a NUL character"
        elif isinstance(node, dict):
            for key, value in node.items():
                if len(key) > 200 or "\x00" in key:
                    return path or "(top)", "a member name longer than 200 characters or with a NUL"
                stack.append((value, _join(path, key), depth + 1))
        elif isinstance(node, list):
            if len(node) > MAX_ARRAY:
                return path or "(top)", f"an array of more than {MAX_ARRAY} items"
            stack.extend((value, _join(path, i), depth + 1) for i, value in enumerate(node))
    return None
