"""The README and docs/ hold together: every relative link reaches a file and a heading that exist, the README
stays short and links every page, and every setting config.py reads is documented."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
README_MAX_LINES = 200

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = CODE_SPAN.sub(lambda m: m.group(0).strip("`"), heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(path: Path) -> list[str]:
    links = LINK.findall(prose(path.read_text(encoding="utf-8")))
    return [link for link in links if not re.match(r"^[a-z][a-z0-9+.-]*:", link)]


def broken(path: Path) -> list[str]:
    out = []
    for link in relative_links(path):
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists():
            out.append(f"{link}: no file {os.path.relpath(file, ROOT)}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            out.append(f"{link}: no heading #{anchor} in {os.path.relpath(file, ROOT)}")
    return out


def test_the_link_checker_sees_links_anchors_and_breakage(tmp_path):
    (tmp_path / "a.md").write_text(
        "# Top\n\n## Running it, in production\n\n[ok](#top) [ok](b.md#the-fhir-endpoint) "
        "[no file](c.md) [no anchor](b.md#nowhere) [web](https://example.org/x) `[code](d.md)`\n\n"
        "```\n[fenced](e.md)\n```\n[ok](#running-it-in-production)\n",
        encoding="utf-8",
    )
    (tmp_path / "b.md").write_text("# The `/fhir` endpoint\n\n## The FHIR endpoint\n", encoding="utf-8")
    assert relative_links(tmp_path / "a.md") == [
        "#top",
        "b.md#the-fhir-endpoint",
        "c.md",
        "b.md#nowhere",
        "#running-it-in-production",
    ]
    assert slug("The `/fhir` endpoint") == "the-fhir-endpoint"
    assert anchors(tmp_path / "b.md") == {"the-fhir-endpoint", "the-fhir-endpoint-1"}
    assert [problem.split(":")[0] for problem in broken(tmp_path / "a.md")] == ["c.md", "b.md#nowhere"]


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken(page) == []


def test_readme_is_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move reference material to docs/"


def test_readme_links_every_page():
    linked = {(ROOT / link.partition("#")[0]).resolve() for link in relative_links(README)}
    assert PAGES, "docs/ has no pages"
    assert [p.name for p in PAGES if p.resolve() not in linked] == []


def test_every_setting_is_documented():
    source = (ROOT / "fhir_adapter" / "config.py").read_text(encoding="utf-8")
    names = set(re.findall(r"""\b(?:get|number|path)\("([A-Z_]+)"[,)]""", source))
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert len(names) > 30, "the settings are no longer read as get/number/path('NAME'): update this test"
    assert sorted(n for n in names if f"`FHIR_ADAPTER_{n}`" not in documented) == []
