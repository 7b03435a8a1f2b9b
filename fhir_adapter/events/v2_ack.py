"""The ACK that answers an HL7 v2 message, built from whatever arrived.

A message whose MSH is broken or missing still gets an ACK: the sender's applications, control id,
processing id and version where they can be read, our defaults where not. Building it never fails, so
no odd input turns into an AR that makes the sender send the same bytes for ever. ERR-3 is a condition of
HL7 table 0357 (https://terminology.hl7.org/CodeSystem-v2-0357.html); MSH-10 is an id of the ACK's own,
unique and within the 20 characters v2.5 allows.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

CONDITIONS = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "207": "Application internal error",
}
OURS = "fhir-adapter"
STANDARD = "^~\\&"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ESCAPES = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "~": "\\R\\", "&": "\\T\\"}
LOCATION = re.compile(r"^([A-Z][A-Z0-9]{2})(?:-([0-9]{1,3}))?")
TRIGGER = re.compile(r"^[A-Z0-9]{3}$")
VERSION = re.compile(r"^2\.\d(\.\d)?$")


@dataclass(frozen=True)
class Header:
    """What an ACK echoes of the message's MSH, already in the ACK's own encoding (`|^~\\&`)."""

    sending: str = "|"  # MSH-3 and MSH-4
    receiving: str = "|"  # MSH-5 and MSH-6
    trigger: str = ""  # MSH-9.2
    control_id: str = ""  # MSH-10
    processing: str = "P"  # MSH-11
    version: str = "2.5"  # MSH-12


def _escaped(value: str) -> str:
    return "".join(ESCAPES.get(c, c) for c in value)


def _cut(value: str, limit: int) -> str:
    """At most `limit` characters, not ending inside an escape sequence."""
    if len(value) <= limit:
        return value
    cut = value[:limit]
    return cut[: cut.rfind("\\")] if cut.count("\\") % 2 else cut


def _fields(first: str) -> tuple[list[str], str, bool]:
    """MSH's fields by number (MSH-1 at 1), the sender's component separator, and whether its encoding is
    ours, so that a field can be copied as it stands."""
    sep = first[3]
    fields = ["MSH", sep, *first[4:].split(sep)]
    encoding = fields[2] if len(fields) > 2 else ""
    component = encoding[0] if encoding and encoding[0] != sep else "^"
    return fields, component, sep == "|" and encoding.startswith(STANDARD)


def header(raw: str | None) -> Header:
    """The parts of the message's MSH an ACK echoes; defaults for what is missing or cannot be read."""
    first = (raw or "").replace("\n", "\r").lstrip("\x0b\r ").split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 4:
        return Header()
    fields, component, verbatim = _fields(first)

    def value(number: int, limit: int) -> str:
        found = CONTROL.sub("", fields[number]) if number < len(fields) else ""
        if not verbatim:
            found = "^".join(_escaped(part) for part in found.split(component))
        return _cut(found, limit)

    def parts(number: int) -> list[str]:
        return [*(fields[number] if number < len(fields) else "").split(component), ""]

    trigger, processing, version = parts(9)[1], parts(11)[0], parts(12)[0]
    return Header(
        sending=f"{value(3, 227)}|{value(4, 227)}",
        receiving=f"{value(5, 227)}|{value(6, 227)}",
        trigger=trigger if TRIGGER.match(trigger) else "",
        control_id=value(10, 199),
        processing=processing if processing in ("D", "P", "T") else "P",
        version=version if VERSION.match(version) else "2.5",
    )


def _text(text: str, limit: int) -> str:
    """Free text for MSA-3 and ERR-8: delimiters it quotes (the sender's own, say) as HL7 escapes."""
    return _cut(_escaped(CONTROL.sub(" ", text)), limit)


def _location(where: str) -> str:
    """ERR-2 for a field named like `PV1-19`: segment, its first occurrence, field."""
    found = LOCATION.match(where)
    if not found:
        return ""
    segment, number = found.groups()
    return f"{segment}^1^{number}" if number else f"{segment}^1"


def ack_id() -> str:
    """An id for one ACK (MSH-10): random, so no two ACKs share one however fast they go."""
    return uuid.uuid4().hex[:20].upper()


def ack(raw: str | None, code: str, text: str = "", condition: str = "", where: str = "") -> str:
    """The ACK for the message text `raw` (None: nothing could be read): MSA-1 `code` and, unless AA, MSA-3
    and an ERR segment with `text`, the table 0357 `condition` (207 for AR, else 102 by default) and the
    field `where` the error is about."""
    h = header(raw)
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    receiving = h.receiving if h.receiving.strip("|") else f"{OURS}|"
    kind = f"ACK^{h.trigger}^ACK" if h.trigger else "ACK"
    lines = [
        f"MSH|{STANDARD}|{receiving}|{h.sending}|{now}||{kind}|{ack_id()}|{h.processing}|{h.version}",
        f"MSA|{code}|{h.control_id}" + (f"|{_text(text, 80)}" if text and code != "AA" else ""),
    ]
    if code != "AA":
        cond = condition if condition in CONDITIONS else ("207" if code == "AR" else "102")
        lines.append(f"ERR||{_location(where)}|{cond}^{CONDITIONS[cond]}^HL70357|E||||{_text(text, 250)}")
    return "\r".join(lines) + "\r"
