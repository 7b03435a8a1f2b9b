"""The fonts the PDFs of documents need: with Hangul and Devanagari glyphs (.ci/run installs them)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

FONTS = ("Noto Sans CJK", "Noto Sans Devanagari")


def require_script_fonts() -> None:
    """Skip, saying what to install, when fontconfig does not list them."""
    fc_list = shutil.which("fc-list")
    listed = subprocess.run([fc_list], capture_output=True, text=True, check=False).stdout if fc_list else ""
    missing = [f for f in FONTS if f not in listed]
    if missing:
        pytest.skip(f"fonts {missing} are not installed: apt-get install fonts-noto-core fonts-noto-cjk")
