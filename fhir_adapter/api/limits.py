"""Bounds on what a request body may hold: its size, nesting depth, string length, array length.

A write on /fhir may carry a hospital document's attachment inline (a discharge summary's PDF, base64 in
`attachment.data`): there the body may be as much larger, and that one string as long, as the attachment
limit (FHIR_ADAPTER_ATTACHMENT_MAX_BYTES) allows in base64. Everywhere else the bounds below hold."""

from __future__ import annotations

from typing import Any

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_STRING = 65_536
MAX_ARRAY = 10_000
MAX_BUNDLE_ENTRIES = 500
INLINE_ATTACHMENTS = ("/fhir", "/fhir/", "/fhir/DocumentReference")  # where a body may carry one


def base64_length(size: int) -> int:
    return (size + 2) // 3 * 4


def body_limit(path: str, attachment_bytes: int) -> int:
    """The largest body a request to `path` may send."""
    if path in INLINE_ATTACHMENTS or path.startswith("/fhir/DocumentReference/"):
        return MAX_BODY_BYTES + base64_length(attachment_bytes)
    return MAX_BODY_BYTES


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def first_violation(data: Any, attachment_bytes: int = 0) -> tuple[str, str] | None:
    """(element path, what is wrong) for the first value beyond the bounds, or None; an attachment's
    `data` may hold `attachment_bytes` in base64. Iterative: no recursion."""
    longest_data = max(MAX_STRING, base64_length(attachment_bytes))
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return path or "(top)", f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(node, str):
            limit = longest_data if path.endswith("attachment.data") else MAX_STRING
            if len(node) > limit:
                return path or "(top)", f"a string longer than {limit} characters"
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
