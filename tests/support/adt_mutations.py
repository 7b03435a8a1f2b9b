"""Real-looking ADT messages broken in the ways feeds break them, for property tests: fields and segments
deleted, doubled or cut short, separators swapped, MSH-1 and MSH-2 changed, noise and stray bytes put in,
the whole cut off anywhere."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.support import adt

KIM = adt.Visit(mrn="MRN-448812", number="V1001")
BASES = [
    adt.message("A01", KIM, control_id="MSG00001"),
    adt.message("A03", KIM, control_id="MSG00002", disposition="01^Home"),
    adt.message("A08", adt.Visit(mrn="MRN-000001", number="V7"), control_id="MSG00003"),
    adt.message("A40", KIM, control_id="MSG00004"),
    adt.message("A02", KIM, control_id="MSG00005", disposition="Admitted as Inpatient^Sample^ACR"),
]
SEPARATORS = "|^~\\&\r"
ACTIONS = ["del", "dup", "cut", "set", "seg-", "seg+", "swap", "msh", "name", "noise"]
noise = st.one_of(
    st.text(max_size=12),
    st.sampled_from([*SEPARATORS, "\\", "\\X0\\", "\\.br5\\", "\x00", "\x0b", "\n", "MSH|", "\r\r", "é中😀"]),
)


def _swapped(segments: list[list[str]], a: str, b: str) -> list[list[str]]:
    return [[f.replace(a, "\x01").replace(b, a).replace("\x01", b) for f in s] for s in segments]


def _once(draw: st.DrawFn, segments: list[list[str]]) -> list[list[str]]:
    """One thing done to one segment (a list of its fields, the name first)."""
    seg = draw(st.integers(0, len(segments) - 1))
    fields = segments[seg]
    at = draw(st.integers(1, max(len(fields) - 1, 1)))
    match draw(st.sampled_from(ACTIONS)):
        case "del" if at < len(fields):
            del fields[at]
        case "dup" if at < len(fields):
            fields.insert(at, fields[at])
        case "cut" if at < len(fields):
            fields[at] = fields[at][: draw(st.integers(0, len(fields[at])))]
        case "set" if at < len(fields):
            fields[at] = draw(noise)
        case "name":
            fields[0] = draw(st.sampled_from(["MSH", "EVN", "PID", "PV1", "MRG", "ZZZ", ""]))
        case "seg-" if len(segments) > 1:
            del segments[seg]
        case "seg+":
            segments.insert(seg, list(fields))
        case "swap":
            return _swapped(segments, draw(st.sampled_from(SEPARATORS)), draw(st.sampled_from(SEPARATORS)))
        case "msh" if len(segments[0]) > 1 and draw(st.booleans()):  # MSH-2, the encoding characters
            segments[0][1] = draw(st.text(max_size=6))
        case "msh":  # MSH-1: what follows "MSH"
            segments[0][0] = "MSH" + draw(st.text(max_size=2))
        case _:
            fields.insert(at, draw(noise))
    return segments


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real-looking ADT message with one to four things done to it, as the bytes a sender frames."""
    segments = [s.split("|") for s in draw(st.sampled_from(BASES)).strip("\r").split("\r")]
    for _ in range(draw(st.integers(1, 4))):
        segments = _once(draw, segments)
    data = ("\r".join("|".join(s) for s in segments) + "\r").encode()
    match draw(st.sampled_from(["as is", "as is", "cut", "bytes"])):
        case "cut":
            data = data[: draw(st.integers(0, len(data)))]
        case "bytes":
            where = draw(st.integers(0, len(data)))
            data = data[:where] + draw(st.binary(min_size=1, max_size=4)) + data[where:]
    return data.replace(b"\x1c", b"")  # an end-of-block byte would end the MLLP frame itself
