"""Structured JSON logs. They never carry patient data: no paths with ids, no query strings, no bodies,
no exception messages — a route template, a status, a duration, who asked and a request id.

That holds at every level and for other libraries' lines too: a line of another library (urllib3 logs each
EHR request's URL with its query at DEBUG; werkzeug and gunicorn quote a malformed request line or header)
keeps its wording but not its values, whether passed as arguments or already written into the message, and
an exception it carries is named by type and place, not by message."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

import structlog

OURS = "fhir_adapter"
# Whose lines are only noise once their values are withheld: each request of the HTTP client, at DEBUG.
QUIET = ("urllib3", "requests")
# What a message another library wrote out itself may hold of a request: a quoted value, or a word with a
# path, query, address or escape in it.
WRITTEN_IN = re.compile(r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|\S*[/?=&%@\\]\S*""")


def configure(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", handlers=[_StderrHandler()], level=level, force=True)
    # The development server logs every request line with its path, which may hold identifiers.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    if not isinstance(logging.getLogRecordFactory(), _Withheld):
        logging.setLogRecordFactory(_Withheld(logging.getLogRecordFactory()))
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


class _Withheld:
    """Makes every record, for whichever handler: another library's keeps its message template and loses
    its arguments and exception text, which may hold a URL with an MRN or a visit number."""

    def __init__(self, make: Callable[..., logging.LogRecord]) -> None:
        self.make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.make(*args, **kwargs)
        if record.name != OURS and not record.name.startswith(OURS + "."):
            if record.args:
                record.msg, record.args = _numbers_only(record.msg, record.args), None
            else:
                record.msg = WRITTEN_IN.sub("(withheld)", str(record.msg))
            if record.exc_info and record.exc_info[1] is not None:
                err = record.exc_info[1]
                record.msg = f"{record.msg} [{type(err).__name__} at {raised_at(err)}]"
                record.exc_info = record.exc_text = None
        return record


def _numbers_only(msg: object, args: Any) -> str:
    """The message with its numbers (a status, a count, a port) and without its text values."""
    values = args if isinstance(args, tuple) else (args,)
    kept = tuple(a if isinstance(a, int | float) else "(withheld)" for a in values)
    try:
        return str(msg) % kept
    except (TypeError, ValueError, KeyError):
        return f"{msg} (values withheld)"


def _to_stderr(*_: object) -> structlog.PrintLogger:
    """A logger on the standard error of the moment, not of the moment `configure` ran (a stream replaced
    since, by a test's capture or a daemon's redirection, would be closed)."""
    return structlog.PrintLogger(sys.stderr)


def raised_at(err: BaseException) -> str:
    """Where an exception was raised, `file.py:line`: what a log may say of it (its message may hold PHI)."""
    frames = traceback.extract_tb(err.__traceback__) if err.__traceback__ else []
    return f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
