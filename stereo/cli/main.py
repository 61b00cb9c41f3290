"""The ``stereo`` command: argparse subcommands, one module each.

Every failure the user can cause ends as one line on stderr and a non-zero exit status;
a traceback is shown only with ``STEREO_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import warnings

from ..errors import StereoError

# Each module defines ``register(subparsers)``, which adds its parser and sets ``func``.
SUBCOMMANDS = ("match", "demo", "bench", "calibrate", "rectify", "range_cmd", "bag", "eval", "view",
               "batch")

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage dump is noise for a one-line contract
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stereo", description="Classical stereo matching, calibration and depth.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__package__}.{name}").register(subparsers)
    return parser


def one_line(text) -> str:
    """``text`` collapsed to one line (OpenCV errors span several; a path may hold a newline).

    For an OpenCV error the useful part is its last line (``error: (-215:...) ... in function``).
    """
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if not lines:
        return ""
    if len(lines) > 1 and any("error:" in ln for ln in lines) and lines[0].startswith("OpenCV("):
        last = next(ln for ln in reversed(lines) if "error:" in ln)
        return last.split(" error: ", 1)[-1]
    return " ".join(lines)


def _run(args) -> int:
    # Warnings are collected and printed as one line each after a success; after an error
    # only the error line is printed (the contract is one line on stderr).
    import numpy as np

    with warnings.catch_warnings(record=True) as caught, np.errstate(over="ignore", invalid="ignore",
                                                                   divide="ignore", under="ignore"):
        warnings.simplefilter("always")
        code = int(args.func(args) or 0)
    seen = set()
    for w in caught:
        msg = one_line(w.message)
        if msg not in seen and not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
            seen.add(msg)
            print(f"stereo {args.command}: warning: {msg}", file=sys.stderr)
    return code


def _quiet_opencv() -> None:
    try:
        import cv2
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except Exception:  # an OpenCV build without the logging API: its messages stay
        pass


def _terminate(signum, frame):
    # SIGTERM unwinds like Ctrl-C, so staging folders and temporary files are removed.
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_opencv()
    if threading.current_thread() is threading.main_thread():
        try:
            signal.signal(signal.SIGTERM, _terminate)
        except (ValueError, OSError, AttributeError):
            pass
    try:
        return _run(args)
    except StereoError as exc:
        if os.environ.get("STEREO_DEBUG"):
            raise
        print(f"stereo {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # e.g. `stereo bench | head`: the reader left, nothing to report
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print(f"stereo {args.command}: interrupted (nothing was written)", file=sys.stderr)
        return 130
    except MemoryError:
        if os.environ.get("STEREO_DEBUG"):
            raise
        print(f"stereo {args.command}: error: out of memory (use smaller images or a narrower "
              f"disparity range; see STEREO_MAX_MEMORY_MB)", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # a bug of ours: still one line, but say it is internal
        if os.environ.get("STEREO_DEBUG"):
            raise
        print(f"stereo {args.command}: internal error: {type(exc).__name__}: {one_line(exc)} "
              f"(set STEREO_DEBUG=1 for a traceback)", file=sys.stderr)
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
