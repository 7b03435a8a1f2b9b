"""CPU seconds used by groups of processes (PostgreSQL's for one database among them) and by the whole
machine over a stretch of time, read from /proc on Linux."""

from __future__ import annotations

import os
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
OTHERS = "anything else on the machine"


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _postgres(database: str) -> list[int]:
    """The PostgreSQL server's processes serving `database`, and its background ones (WAL writer,
    checkpointer, ...): not the backends of other databases. Backends come and go."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        backend = "(" in title or "[local]" in title
        if not backend or f" {database} " in title:
            found.append(int(entry.name))
    return found


def _machine() -> float:
    """CPU seconds the machine spent busy (all cores), from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / TICK


class CpuWatch:
    """CPU seconds per group of processes between start() and stop(), PostgreSQL's for `database` among
    them, and the whole machine's; on Linux (/proc), else nothing."""

    def __init__(self, groups: dict[str, list[int]], database: str) -> None:
        self.groups = groups
        self.database = database
        self.available = Path("/proc/stat").exists()
        self.used: dict[str, float] = {}
        self.machine = 0.0
        self.wall = 0.0

    def _snapshot(self) -> dict[str, dict[int, float]]:
        pids = self.groups | {"PostgreSQL": _postgres(self.database)}
        return {name: {pid: _cpu_of(pid) for pid in group} for name, group in pids.items()}

    def start(self) -> CpuWatch:
        if self.available:
            self._begin, self._machine, self._t = self._snapshot(), _machine(), time.perf_counter()
        return self

    def stop(self) -> CpuWatch:
        if not self.available:
            return self
        end = self._snapshot()
        self.wall = time.perf_counter() - self._t
        for name, group in end.items():
            before = self._begin.get(name, {})
            self.used[name] = sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in group.items())
        self.machine = _machine() - self._machine
        self.used[OTHERS] = max(0.0, self.machine - sum(self.used.values()))
        return self

    def net(self, idle: CpuWatch | None = None, idle_seconds: float = 0.0) -> dict[str, float]:
        """CPU seconds by group, less what the same group uses idle (polling) in `idle_seconds`."""
        out = {}
        for name, used in self.used.items():
            base = idle.used.get(name, 0.0) / idle.wall * idle_seconds if idle and idle.wall else 0.0
            out[name] = max(0.0, used - base)
        return out

    def per(self, count: int, idle: CpuWatch | None = None, idle_seconds: float = 0.0) -> str:
        """CPU ms per item by group, idle polling taken out as net() does."""
        if not self.used:
            return "(no /proc: not measured)"
        return ", ".join(
            f"{name} {used / count * 1000:.1f}" for name, used in self.net(idle, idle_seconds).items()
        )

    def disturbed(self) -> str:
        """A warning when other processes used a noticeable share of the machine meanwhile."""
        other = self.used.get(OTHERS, 0.0) / self.wall if self.wall else 0.0
        if other < 0.1:
            return ""
        return (
            f"  WARNING: other processes used {other:.2f} cores meanwhile: these numbers are disturbed, "
            "run again on a quiet machine"
        )
