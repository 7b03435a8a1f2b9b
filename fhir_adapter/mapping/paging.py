"""Walking a FHIR searchset page by page: https://hl7.org/fhir/R4/http.html#paging"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit


def pages(read: Callable[[str], Any], path: str, base_url: str, most: int) -> Iterator[dict[str, Any]]:
    """A search and its next pages (at most `most`). Only a next link's path is followed, under the base
    URL we are configured with: the server's own idea of its URL may name another host."""
    base = urlsplit(base_url).path.rstrip("/")
    next_path: str | None = path
    for _ in range(most):
        if next_path is None:
            return
        bundle = read(next_path)
        yield bundle
        url = next(
            (link.get("url") for link in bundle.get("link", []) if link.get("relation") == "next"), None
        )
        parts = urlsplit(url) if isinstance(url, str) and url else None
        if parts is None or not parts.path.startswith(f"{base}/"):
            return
        next_path = parts.path[len(base) + 1 :] + (f"?{parts.query}" if parts.query else "")
