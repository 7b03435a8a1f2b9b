"""The PDF step's reuse is safe: threads rendering at once (each with its own font configuration) get their
own page's text, in its own script, with the glyphs embedded; a page made again comes from the kept PDFs;
the Hangul font made once per process keeps what Korean text needs."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pypdf import PdfReader

from fhir_adapter.documents import fonts, narrative, pdf, renderers
from tests.support.fonts import require_script_fonts


@pytest.fixture(scope="module", autouse=True)
def installed_fonts() -> None:
    require_script_fonts()


def page(name: str, lang: str, goal: str) -> str:
    patient = {
        "name": [{"use": "official", "text": name}],
        "communication": [{"language": {"coding": [{"code": lang}]}}],
    }
    goal_resource = {"resourceType": "Goal", "description": {"text": goal}, "lifecycleStatus": "active"}
    return narrative.render(f"Plan of care note: {goal}", patient, [goal_resource], "sent as a document")


def text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def embedded_fonts(data: bytes) -> set[str]:
    names = set()
    for p in PdfReader(io.BytesIO(data)).pages:
        for font in (p["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
            names.add(str(font["/BaseFont"]).split("+", 1)[1])
    return names


KOREAN = ("김서연", "ko", "안정된 주거로 이사")
HINDI = ("आरव शर्मा", "hi", "नियमित दवा लेना")


def test_threads_rendering_at_once_each_get_their_own_page() -> None:
    made_of = {n: KOREAN if n % 2 else HINDI for n in range(6)}
    pages = {
        n: page(*who).replace("Plan of care note", f"Plan of care note {n}") for n, who in made_of.items()
    }
    start = threading.Barrier(len(pages))

    def make(n: int) -> tuple[int, bytes, int]:
        start.wait()
        return n, pdf.render(pages[n]), threading.get_ident()

    with ThreadPoolExecutor(len(pages)) as pool:
        made = list(pool.map(make, pages))
    assert len({ident for _, _, ident in made}) == len(pages)
    for n, data, _ in made:
        name, _, goal = made_of[n]
        other = HINDI[0] if n % 2 else KOREAN[0]
        got = text(data)
        assert f"Plan of care note {n}:" in got and name in got and other not in got
        assert goal in got or not n % 2  # pypdf reads Devanagari vowel signs out of order; the name it reads
        used = embedded_fonts(data)
        assert (fonts.FAMILY.replace(" ", "-") in used) == bool(n % 2), used
        assert ("Noto-Sans-Devanagari" in used) != bool(n % 2), used


def made(html: str) -> bytes:
    """The page's PDF as a worker gets it: the kept one, else one a renderer makes."""
    return renderers.pdf_of(html).result(timeout=60)


def test_a_page_made_again_is_the_kept_pdf_and_a_changed_page_is_made_anew() -> None:
    html = page(*KOREAN)
    first = made(html)
    assert made(html) is first
    changed = made(html.replace("안정된", "새"))
    assert changed is not first and "새 주거로 이사" in text(changed)


def test_the_kept_pdfs_are_bounded() -> None:
    for n in range(pdf.KEEP + 5):
        made(page(*HINDI).replace("नियमित", f"नियमित {n}"))
    assert len(pdf._done) == pdf.KEEP


def test_the_hangul_font_keeps_syllables_old_jamo_and_the_features_that_compose_them() -> None:
    import uharfbuzz as hb

    where = fonts.installed(fonts.SOURCE_FAMILY, "Regular")
    assert where is not None
    full, ours = (
        hb.Font(hb.Face(hb.Blob.from_file_path(where[0]), where[1])),
        hb.Font(hb.Face(fonts.hangul_subset(*where))),
    )

    def glyphs(font: hb.Font, line: str) -> int:
        buf = hb.Buffer()
        buf.add_str(line)
        buf.guess_segment_properties()
        hb.shape(font, buf, {})
        assert all(g.codepoint for g in buf.glyph_infos), line  # no .notdef
        return len(buf.glyph_infos)

    for line in ("김서연 퇴원 계획", "ᄀᆞ ᄒᆞᆫ글", "「주거」 ㄱㄴ"):
        assert glyphs(ours, line) == glyphs(full, line)
    assert ours.face.glyph_count < full.face.glyph_count / 4


def test_a_page_loads_nothing_from_outside(tmp_path: Path) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    html = page(*HINDI).replace("</head>", f'<link rel="stylesheet" href="{secret.as_uri()}"></head>')
    assert "आरव शर्मा" in text(pdf.render(html))
    with pytest.raises(ValueError, match="loads nothing"):
        pdf._renderer()[2].fetch(secret.as_uri())


def test_without_the_hangul_font_the_pdf_uses_the_installed_fonts() -> None:
    assert fonts.installed("No Such Family Anywhere", "Regular") is None
    sheet = pdf.stylesheet([])
    assert fonts.FAMILY not in sheet and "@font-face" not in sheet
    assert f"font-family: {narrative.FONTS} !important" in sheet
    with_face = pdf.stylesheet([fonts.Face(700, b"")])
    assert f'"Noto Sans Devanagari", "{fonts.FAMILY}", "Noto Sans CJK KR"' in with_face
    assert f"font-weight: 700; src: url({pdf.FONT_URL}700)" in with_face
