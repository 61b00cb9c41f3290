"""The ``stereo`` command: argparse subcommands, one module each.

Every failure the user can cause ends as one line on stderr and a non-zero exit status;
a traceback is shown only with ``STEREO_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

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


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except StereoError as exc:
        if os.environ.get("STEREO_DEBUG"):
            raise
        print(f"stereo {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # e.g. `stereo bench | head`: the reader left, nothing to report
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print(f"stereo {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: still one line, but say it is internal
        if os.environ.get("STEREO_DEBUG"):
            raise
        print(f"stereo {args.command}: internal error: {type(exc).__name__}: {exc} "
              f"(set STEREO_DEBUG=1 for a traceback)", file=sys.stderr)
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
