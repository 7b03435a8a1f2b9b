"""An HTML page as a PDF, through WeasyPrint: Pango and HarfBuzz shape the text (Devanagari conjuncts,
Hangul syllables) and the fonts used are embedded, subset to the glyphs the page uses. The fonts must be
installed where it runs: the Noto families (Debian fonts-noto-core and fonts-noto-cjk; see docs/delivery.md).

What makes it cheap (docs/benchmarks.md, Documents): each thread keeps its own font configuration and
parsed stylesheet (made anew they cost a fifth of a render; Pango's font maps are not to be shared between
threads, so nothing of WeasyPrint's is); Hangul comes from a font of its own made once per process
(documents/fonts.py) instead of the whole CJK collection; the facts tables are laid out at fixed widths
(WeasyPrint's automatic table layout measures every cell twice); and a page already made (a resend of the
same record version) is not made again.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
from collections import OrderedDict
from typing import Any

from fhir_adapter.documents import fonts
from fhir_adapter.documents.narrative import FONTS_AFTER_CJK, FONTS_BEFORE_CJK

logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per step of every document
FONT_URL = "fhir-adapter-font:"  # the one kind of URL a page's PDF may load: our fonts, from memory
KEEP = 32  # PDFs kept by their page's hash (about 15-30 KB each)
_local = threading.local()
_faces_lock = threading.Lock()
_faces: list[fonts.Face] = []
_made: list[bool] = []
_done_lock = threading.Lock()
_done: OrderedDict[str, bytes] = OrderedDict()


def _hangul() -> list[fonts.Face]:
    """The Hangul fonts, made by the first thread that needs them and shared (bytes, never changed)."""
    with _faces_lock:
        if not _made:
            _faces.extend(fonts.hangul_faces())
            _made.append(True)
        return list(_faces)


def stylesheet(faces: list[fonts.Face]) -> str:
    """The PDF's stylesheet beside the page's own (a user stylesheet, so what it changes is !important or
    unset by the page): the Hangul font before the CJK collection, the facts tables at fixed widths."""
    rules = [
        f'@font-face {{ font-family: "{fonts.FAMILY}"; font-weight: {f.weight}; src: url({FONT_URL}{f.weight}); }}'
        for f in faces
    ]
    family = f'"{fonts.FAMILY}", ' if faces else ""
    rules += [
        f"body {{ font-family: {FONTS_BEFORE_CJK}, {family}{FONTS_AFTER_CJK} !important; }}",
        "section > table { table-layout: fixed; width: 100%; } section > table th { width: 40%; }",
    ]
    return " ".join(rules)


def _renderer() -> tuple[Any, Any, Any]:
    """This thread's (font configuration, stylesheet, URL fetcher), made at its first document."""
    made = getattr(_local, "renderer", None)
    if made is None:
        from weasyprint import CSS  # imported with the first document: it loads Pango and the fonts
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher, URLFetcherResponse

        faces = {str(f.weight): f.data for f in _hangul()}

        class FontsOnly(URLFetcher):  # type: ignore[misc]
            """Serves our fonts; a page loads nothing else (no file, no network)."""

            def fetch(self, url: str, headers: object = None) -> Any:
                if url.startswith(FONT_URL) and url[len(FONT_URL) :] in faces:
                    return URLFetcherResponse(url, faces[url[len(FONT_URL) :]], {"Content-Type": "font/otf"})
                raise ValueError(f"a document loads nothing from outside: {url[:80]}")

        fetcher = FontsOnly()
        config = FontConfiguration()
        css = CSS(string=stylesheet(_hangul()), font_config=config, url_fetcher=fetcher)
        made = _local.renderer = (config, css, fetcher)
        if threading.current_thread() is threading.main_thread():
            # let go before the interpreter tears its modules down: the configuration then removes its
            # folder of fonts (other threads' go when their thread ends)
            atexit.register(_local.__dict__.pop, "renderer", None)
    return made


def render(html: str) -> bytes:
    """The page as a PDF, made now (A4, the page's own stylesheet under ours)."""
    from weasyprint import HTML

    config, css, fetcher = _renderer()
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf(font_config=config, stylesheets=[css])
    return bytes(pdf or b"")


def kept(html: str) -> bytes | None:
    """The PDF made before for the same page, if it is still kept."""
    key = hashlib.sha256(html.encode()).hexdigest()
    with _done_lock:
        if key in _done:
            _done.move_to_end(key)
            return _done[key]
    return None


def keep(html: str, pdf: bytes) -> None:
    """Keep a page's PDF, the KEEP made last."""
    with _done_lock:
        _done[hashlib.sha256(html.encode()).hexdigest()] = pdf
        while len(_done) > KEEP:
            _done.popitem(last=False)
