"""Which attachment bytes are kept: only kinds a discharge planner can open, whose bytes are what their
content type says, up to a size limit. https://hl7.org/fhir/R4/datatypes.html#Attachment"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

DEFAULT_LIMIT = 20 * 1024 * 1024  # bytes (FHIR_ADAPTER_ATTACHMENT_MAX_BYTES)


def _text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _xml(data: bytes) -> bool:
    return _text(data) and data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


# content type (without parameters) → what its bytes must look like
ACCEPTED: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": lambda data: data.startswith(b"%PDF-"),
    "text/plain": _text,
    "text/html": _text,
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "application/xml": _xml,  # a CDA document
    "text/xml": _xml,
}


def media_type(content_type: str | None) -> str:
    """The content type without its parameters (`; charset=...`), lower case."""
    return (content_type or "").split(";")[0].strip().lower()


def refusal(content_type: str | None, data: bytes, limit: int) -> str | None:
    """Why the bytes are not kept, or None when they are."""
    kind = media_type(content_type)
    if kind not in ACCEPTED:
        accepted = ", ".join(ACCEPTED)
        return f"content type {content_type or '(none)'} is not one a planner can open ({accepted})"
    if len(data) > limit:
        return f"{len(data)} bytes, more than the limit of {limit}"
    if not data:
        return "no bytes"
    if not ACCEPTED[kind](data):
        return f"the bytes are not {kind}"
    return None


def digest(data: bytes) -> str:
    """The SHA-256 the bytes are kept by, in hex."""
    return hashlib.sha256(data).hexdigest()
