"""The service's commands as the demo runs them: one-off commands, and long-running processes with their
output in a log file under var/demo/, stopped in order at the end."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from demo.console import DemoError

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "fhir-adapter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(database: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any FHIR_ADAPTER_* of the caller's, plus the demo's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FHIR_ADAPTER_") and k != "DATABASE_URL"}
    env["FHIR_ADAPTER_DATABASE_URL"] = f"sqlite:///{database}"
    env |= {f"FHIR_ADAPTER_{name.upper()}": value for name, value in settings.items()}
    return env


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run `fhir-adapter <args>` to the end (given `stdin`); its standard output, or a DemoError with what it
    said."""
    if not BIN.exists():
        raise DemoError(f"{BIN} is missing: run `make install` first")
    try:
        done = subprocess.run(  # noqa: S603 - our own command, with arguments of the demo's
            [str(BIN), *args],
            env=env,
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise DemoError(f"`fhir-adapter {' '.join(args[:2])}` did not finish within 120 s") from err
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip() or "(no output)"
        raise DemoError(f"`fhir-adapter {' '.join(args[:2])}` failed (exit {done.returncode}):\n{said}")
    return done.stdout


@dataclass
class Service:
    """A long-running `fhir-adapter` command; its output goes to `log`."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    _file: IO[bytes] = field(repr=False)

    @classmethod
    def start(cls, name: str, env: dict[str, str], log: Path, *args: str) -> Service:
        out = open(log, "wb")  # noqa: SIM115 - closed by stop()
        process = subprocess.Popen(  # noqa: S603 - our own command, with arguments of the demo's
            [str(BIN), *args],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches the demo, which stops this in order.
            start_new_session=True,
        )
        return cls(name, process, log, out)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        try:
            return self.log.read_text("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines: int = 8) -> str:
        return "\n".join(self.output().rstrip().splitlines()[-lines:]) or "(no output)"

    def died(self) -> DemoError:
        code = self.process.returncode
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
        return DemoError(f"{self.name} {how}; the end of {self.log}:\n{self.tail()}")

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of `pattern` in the output, waiting for it while the process runs."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.output())
            if found:
                return found
            if not self.alive():
                raise self.died()
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{self.name} did not start within {timeout:.0f} s; {self.log}:\n{self.tail()}"
                )
            time.sleep(0.1)

    def stop(self) -> int | None:
        """Ctrl-C first (a clean exit), then SIGTERM, then SIGKILL; its exit status. Safe to call twice."""
        for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.process.poll() is not None:
                break
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
        self._file.close()
        return self.process.returncode
