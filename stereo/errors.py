"""Typed exceptions raised by the public API.

Every error names the problem (and the file, when there is one). The CLI turns any
``StereoError`` into one line on stderr and a non-zero exit status.
"""

from __future__ import annotations


class StereoError(Exception):
    """Base class of every error this library raises on purpose."""


class InputError(StereoError, ValueError):
    """An array argument has the wrong shape, dtype, size or content."""


class ParameterError(StereoError, ValueError):
    """A matcher or function parameter is out of its allowed range."""


class FileFormatError(StereoError, OSError):
    """A file is missing, unreadable, or not in the format its reader expects.

    ``path`` holds the offending file so callers can report it.
    """

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


class OutputError(StereoError, OSError):
    """An output file or folder cannot be created (permissions, a file in the way, ...)."""

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


class CalibrationError(StereoError, ValueError):
    """A calibration is malformed, inconsistent, or could not be estimated."""


__all__ = ["StereoError", "InputError", "ParameterError", "FileFormatError", "OutputError",
           "CalibrationError"]
