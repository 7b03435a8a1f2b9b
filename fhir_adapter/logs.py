"""Structured JSON logs. They never carry patient data: no paths with ids, no query strings, no bodies,
no exception messages — a route template, a status, a duration, who asked and a request id."""

from __future__ import annotations

import logging
import sys
import traceback

import structlog


def configure(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", handlers=[_StderrHandler()], level=level, force=True)
    # The development server logs every request line with its path, which may hold identifiers.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_to_stderr,
        cache_logger_on_first_use=False,
    )


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The standard library's lines, on the standard error of the moment too."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass


def _to_stderr(*_: object) -> structlog.PrintLogger:
    """A logger on the standard error of the moment, not of the moment `configure` ran (a stream replaced
    since, by a test's capture or a daemon's redirection, would be closed)."""
    return structlog.PrintLogger(sys.stderr)


def raised_at(err: BaseException) -> str:
    """Where an exception was raised, `file.py:line`: what a log may say of it (its message may hold PHI)."""
    frames = traceback.extract_tb(err.__traceback__) if err.__traceback__ else []
    return f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
