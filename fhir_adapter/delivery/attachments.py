"""A document read back: the bytes of its attachments fetched from the EHR, with the EHR's credentials, when
the attachment's `url` is the EHR's own (`Binary/<id>`, or an absolute URL under its base). A URL elsewhere
is not fetched: the credentials never leave for another host. Reading stops at the size limit. What was
fetched goes into the attachment as its inline `data`, where the intake checks and keeps it like data sent
inline; what was not is said in a note for the inbound message. The EHR's own URL is kept absolute (a
relative `Binary/<id>` names a resource of whatever server shows it: ours, or another EHR the record goes
to), so it still points at the hospital's copy wherever the document is shown.
"""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any
from urllib.parse import urlsplit

import orjson

from fhir_adapter.delivery.ehr_client import EhrClient, Failure, TooLarge

JSON = dict[str, Any]
FHIR_TYPES = ("application/fhir+json", "application/json")


def own_path(client: EhrClient, url: str) -> str | None:
    """The path under the EHR's base the URL names, or None when it is not the EHR's."""
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return url.lstrip("/") if url.startswith("Binary/") else None
    base = client.base.rstrip("/") + "/"
    return url[len(base) :] if url.startswith(base) else None


def with_bytes(client: EhrClient, document: JSON, limit: int) -> tuple[JSON, list[str]]:
    """The DocumentReference with the bytes of its attachments that the EHR holds inlined, and a note for
    each attachment whose bytes were not fetched."""
    document = copy.deepcopy(document)
    notes = []
    for i, content in enumerate(document.get("content", [])):
        attachment = content.get("attachment") or {}
        url = attachment.get("url")
        if "data" in attachment or not isinstance(url, str):
            continue
        path = own_path(client, url)
        if path is None:
            host = urlsplit(url).netloc or url
            notes.append(f"content[{i}]: {host} is not the EHR: not fetched (its credentials stay with it)")
            continue
        attachment["url"] = f"{client.base.rstrip('/')}/{path}"
        try:
            kind, data = _read(client, path, attachment.get("contentType"), limit)
        except TooLarge as err:
            notes.append(f"content[{i}]: {url} is more than the limit of {err.limit} bytes: not kept")
            continue
        except Failure as err:
            notes.append(f"content[{i}]: {url} could not be read ({err.reason}): not kept")
            continue
        attachment["data"] = base64.b64encode(data).decode("ascii")
        attachment.setdefault("contentType", kind)
    return document, notes


def _read(client: EhrClient, path: str, content_type: str | None, limit: int) -> tuple[str, bytes]:
    """(content type, bytes): as they are, or from the Binary resource the EHR answers with instead."""
    accept = f"{content_type}, application/fhir+json;q=0.5" if content_type else "application/fhir+json"
    # base64 is 4/3 the size of the bytes, and the Binary around it adds a little
    kind, body = client.download(path, accept, limit * 4 // 3 + 4096)
    if kind.split(";")[0].strip().lower() not in FHIR_TYPES:
        if len(body) > limit:
            raise TooLarge(limit)
        return kind, body
    try:
        binary = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise Failure("dead", "not_binary", None, "the answer is not JSON") from err
    if not isinstance(binary, dict) or binary.get("resourceType") != "Binary":
        raise Failure("dead", "not_binary", None, "the answer is not a Binary")
    try:
        data = base64.b64decode(str(binary.get("data", "")), validate=True)
    except (binascii.Error, ValueError) as err:
        raise Failure("dead", "not_base64", None, "the Binary's data is not base64") from err
    if len(data) > limit:
        raise TooLarge(limit)
    return str(binary.get("contentType") or content_type or ""), data
