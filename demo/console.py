"""What the demo prints: numbered steps, indented details, and a progress line while it waits."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
INDENT = "      "


class DemoError(Exception):
    """A step failed; the message says what and where to look."""


class Console:
    def __init__(self, total: int) -> None:
        self.total = total
        self.number = 0
        self.tty = sys.stdout.isatty()
        self.started = time.monotonic()

    def step(self, title: str) -> None:
        self.number += 1
        width = len(str(self.total))
        print(f"\n[{self.number:>{width}}/{self.total}] {title}", flush=True)

    def say(self, text: str = "") -> None:
        for line in text.splitlines() or [""]:
            print(f"{INDENT}{line}" if line else "", flush=True)

    def table(self, rows: list[tuple[str, ...]]) -> None:
        if not rows:
            return
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
            self.say("  ".join(cells).rstrip())

    def wait(self, what: str, check: Callable[[], tuple[T | None, str]], timeout: float) -> T:
        """Call `check` until it returns a value; shows `what`, the seconds so far and the state `check`
        reports. On a terminal the line is redrawn in place; elsewhere a line is printed when the state
        changes."""
        start = time.monotonic()
        shown = ""
        while True:
            value, state = check()
            elapsed = time.monotonic() - start
            line = f"{INDENT}… {what}: {state} ({elapsed:.1f} s)"
            if value is not None:
                done = f"{INDENT}✓ {what}: {state} ({elapsed:.1f} s)"
                print(f"\r\033[K{done}" if self.tty else done, flush=True)
                return value
            if elapsed > timeout:
                if self.tty:
                    print(flush=True)
                raise DemoError(f"gave up after {timeout:.0f} s waiting for {what} (last seen: {state})")
            if self.tty:  # one line, redrawn: no wider than the terminal
                width = shutil.get_terminal_size().columns - 1
                print(f"\r\033[K{line[:width]}", end="", flush=True)
            elif state != shown:
                print(line, flush=True)
            shown = state
            time.sleep(0.2)

    def elapsed(self) -> float:
        return time.monotonic() - self.started
