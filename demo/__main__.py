"""`python -m demo [--keep]`: a client admitted to hospital and discharged, end to end, with real processes.

See demo/__init__.py for the story; `make demo` runs it."""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from types import FrameType

from demo.console import DemoError
from demo.stage import VAR, rel
from demo.story import Demo


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep everything running until Ctrl-C")
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # a terminal without UTF-8 gets "?" for "…" and "✓"
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    # Ctrl-C stops the demo even when it was started with SIGINT ignored (in the background, say); the
    # processes it starts then take Ctrl-C as a request to stop cleanly too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminated)
    demo = Demo()
    failure = ""
    code = 0
    try:
        demo.run()
        if args.keep:
            demo.keep_running()
    except DemoError as err:
        failure, code = f"The demo failed: {err}\n(the processes' output is in {rel(VAR)}/)", 1
    except KeyboardInterrupt:
        failure, code = "Interrupted.", 130
    except Exception:
        failure, code = f"The demo failed unexpectedly:\n{traceback.format_exc().rstrip()}", 1
    finally:
        clean = demo.stop()
    if code == 0 and not clean:
        failure, code = "A process did not stop cleanly.", 1
    if failure:
        print(f"\n{failure}", file=sys.stderr, flush=True)
    else:
        print(f"\nDone in {demo.out.elapsed():.0f} s.")
    return code


if __name__ == "__main__":
    sys.exit(main())
