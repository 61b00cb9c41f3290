"""Resource limits applied to untrusted input, each overridable by an environment variable.

=============================  ==========================  =====================================
limit                          default                     environment variable
=============================  ==========================  =====================================
calibration file size          1 MiB                      ``STEREO_MAX_CALIB_BYTES``
image / disparity file size    1 GiB                      ``STEREO_MAX_FILE_BYTES``
decoded image size             100 megapixels              ``STEREO_MAX_IMAGE_PIXELS``
memory of one matcher run      half the RAM, at most 16 GiB  ``STEREO_MAX_MEMORY_MB``
=============================  ==========================  =====================================

A limit is checked *before* the memory is allocated (file size from ``stat``, image size
from the file header, matcher memory from its parameters), so hostile input costs nothing.
Values: plain integers (bytes, pixels, MiB); ``0`` is refused.
"""

from __future__ import annotations

import os

from .errors import ParameterError

DEFAULT_MAX_CALIB_BYTES = 1 << 20
DEFAULT_MAX_FILE_BYTES = 1 << 30
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
_MAX_MEMORY_CAP_MB = 16384


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise ParameterError(f"environment variable {name}={text!r} must be a positive integer") from None
    if value <= 0:
        raise ParameterError(f"environment variable {name}={text!r} must be a positive integer")
    return value


def max_calib_bytes() -> int:
    """Largest calibration file read, bytes (``STEREO_MAX_CALIB_BYTES``, default 1 MiB)."""
    return _env_int("STEREO_MAX_CALIB_BYTES", DEFAULT_MAX_CALIB_BYTES)


def max_file_bytes() -> int:
    """Largest image / disparity / point-cloud file read, bytes (``STEREO_MAX_FILE_BYTES``)."""
    return _env_int("STEREO_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)


def max_image_pixels() -> int:
    """Largest image decoded, width * height (``STEREO_MAX_IMAGE_PIXELS``, default 1e8)."""
    return _env_int("STEREO_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS)


def physical_memory_mb() -> int | None:
    """Installed RAM in MiB, or None when the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20))
    except (ValueError, OSError, AttributeError):
        return None


def max_memory_mb() -> int:
    """Memory budget of one matcher run, MiB (``STEREO_MAX_MEMORY_MB``).

    Default: half the installed RAM, at most 16 GiB (4 GiB when the RAM is unknown).
    """
    ram = physical_memory_mb()
    default = min(_MAX_MEMORY_CAP_MB, ram // 2) if ram else 4096
    return _env_int("STEREO_MAX_MEMORY_MB", max(default, 256))


def check_memory(need_bytes: float, what: str, advice: str, budget_mb: int | None = None) -> None:
    """Refuse a run that would need more than the budget, saying the figure and what to change.

    Raises:
        ParameterError: ``need_bytes`` exceeds ``budget_mb`` (default :func:`max_memory_mb`).
    """
    budget = max_memory_mb() if budget_mb is None else int(budget_mb)
    need_mb = need_bytes / (1 << 20)
    if need_mb > budget:
        raise ParameterError(f"{what} would need about {_human(need_bytes)}, more than the "
                             f"{_human(budget * (1 << 20))} allowed (STEREO_MAX_MEMORY_MB); {advice}")


def _human(n: float) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 1024:.0f} KiB"


__all__ = ["max_calib_bytes", "max_file_bytes", "max_image_pixels", "max_memory_mb", "check_memory",
           "physical_memory_mb", "DEFAULT_MAX_CALIB_BYTES", "DEFAULT_MAX_FILE_BYTES",
           "DEFAULT_MAX_IMAGE_PIXELS"]
