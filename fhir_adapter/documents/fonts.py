"""The Hangul of Noto Sans CJK KR as a font of its own, for the PDFs: made once per process with HarfBuzz.

Why: the installed CJK font (a 19 MB collection of 65,535 glyphs) is subset for every PDF that uses it, and
its Hangul sits at glyph ids 47,611-58,782, so each subset walks and keeps tens of thousands of glyph slots
(about 40 ms of CPU and 100 KB per document). The same glyphs as a font of about 14,000 (Latin, punctuation,
Hangul jamo and syllables, with every layout feature kept so old-Hangul jamo still compose) cost a third of
that. Characters it lacks (Hanja, kana) fall through to the installed CJK font, as before.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass

log = logging.getLogger(__name__)

FAMILY = "fhir-adapter Hangul"  # the family the PDF stylesheet puts before the installed CJK font
SOURCE_FAMILY = "Noto Sans CJK KR"
RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x017F),  # Latin-1, Latin Extended-A
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2000, 0x206F),  # General Punctuation
    (0x3000, 0x303F),  # CJK Symbols and Punctuation
    (0x3130, 0x318F),  # Hangul Compatibility Jamo
    (0xA960, 0xA97F),  # Hangul Jamo Extended-A
    (0xAC00, 0xD7A3),  # Hangul Syllables
    (0xD7B0, 0xD7FF),  # Hangul Jamo Extended-B
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
)


@dataclass(frozen=True)
class Face:
    """A font made for the PDFs: its CSS weight and its bytes (OpenType)."""

    weight: int
    data: bytes


def installed(family: str, style: str) -> tuple[str, int] | None:
    """Where fontconfig finds `family` in `style`: (file, index in a collection), or None if it is missing."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    found = subprocess.run(  # noqa: S603 - a fixed program and pattern, no shell
        [fc_match, "-f", "%{family}\t%{file}\t%{index}", f"{family}:style={style}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split("\t")
    if len(found) != 3 or family not in found[0].split(","):
        return None
    return found[1], int(found[2] or 0)


def hangul_subset(path: str, index: int) -> bytes:
    """The Hangul (and what Korean text sets beside it) of the font at `path`, every layout feature kept."""
    import uharfbuzz as hb  # loaded with the first Korean document's fonts, not at start

    face = hb.Face(hb.Blob.from_file_path(path), index)
    wanted = hb.SubsetInput()
    for low, high in RANGES:
        wanted.unicode_set.add_range(low, high)
    features = wanted.sets(hb.SubsetInputSets.LAYOUT_FEATURE_TAG)
    features.clear()  # it holds HarfBuzz's default features: emptied and inverted, it keeps every one
    features.invert()  # (old-Hangul jamo compose through ccmp and the jamo features of the hang script)
    return bytes(hb.subset(face, wanted).blob.data)


def hangul_faces() -> list[Face]:
    """The Hangul fonts (regular and bold) made from the installed Noto Sans CJK KR; none if it is missing
    or cannot be subset (the PDFs then use the installed font as it is, at the old cost)."""
    faces = []
    for weight, style in ((400, "Regular"), (700, "Bold")):
        where = installed(SOURCE_FAMILY, style)
        if where is None:
            continue
        try:
            faces.append(Face(weight, hangul_subset(*where)))
        except (ImportError, OSError, RuntimeError) as err:
            log.warning("documents: %s (%s) cannot be subset (%s); PDFs use it as installed", *where, err)
    return faces
