"""An HTML page as a PDF, through WeasyPrint: Pango and HarfBuzz shape the text (Devanagari conjuncts,
Hangul syllables) and the fonts used are embedded. The fonts must be installed where it runs: the Noto
families (Debian fonts-noto-core and fonts-noto-cjk; see docs/delivery.md)."""

from __future__ import annotations

import logging
import threading

logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per step of every document
_lock = threading.Lock()  # one font configuration, kept: made anew it costs a fifth of a render
_fonts: list[object] = []


def to_pdf(html: str) -> bytes:
    """The page as a PDF (A4, the page's own stylesheet)."""
    from weasyprint import HTML  # imported when the first document is made: it loads Pango and fonts
    from weasyprint.text.fonts import FontConfiguration

    with _lock:
        if not _fonts:
            _fonts.append(FontConfiguration())
        pdf = HTML(string=html).write_pdf(font_config=_fonts[0])
    return bytes(pdf or b"")
