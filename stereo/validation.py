"""Input checks and normalisation shared by every public entry point.

Public functions call these first so that kernels only ever see C-contiguous arrays of
the narrow dtype they were compiled for. None of these functions modifies its input.
"""

from __future__ import annotations

import numbers

import cv2
import numpy as np

from .errors import InputError, ParameterError

_IMAGE_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


def check_image(img, name: str = "image") -> np.ndarray:
    """Return ``img`` as an ndarray after checking it is a 2-D grey or 3-D colour image.

    Accepted: (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA; dtype uint8, uint16,
    float32 or float64 (finite). Raises :class:`InputError` naming ``name`` otherwise.
    """
    if img is None:
        raise InputError(f"{name} is None (was the file read correctly?)")
    arr = np.asarray(img)
    if arr.dtype == object or arr.dtype.type not in _IMAGE_DTYPES:
        raise InputError(f"{name} has dtype {arr.dtype}; expected uint8, uint16, float32 or float64")
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
        raise InputError(f"{name} has shape {arr.shape}; a colour image must have 1, 3 or 4 channels")
    if arr.ndim not in (2, 3):
        raise InputError(f"{name} has shape {arr.shape}; expected (H, W) or (H, W, C)")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise InputError(f"{name} is too small ({arr.shape[1]}x{arr.shape[0]} pixels)")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or inf values")
    return arr


def check_pair(left, right) -> tuple[np.ndarray, np.ndarray]:
    """Check a stereo pair: both valid images of the same size, channel count and dtype."""
    left = check_image(left, "left image")
    right = check_image(right, "right image")
    if left.shape[:2] != right.shape[:2]:
        raise InputError(
            f"left and right images differ in size: {left.shape[1]}x{left.shape[0]} vs "
            f"{right.shape[1]}x{right.shape[0]} (width x height)")
    if _channels(left) != _channels(right):
        raise InputError(f"left image has {_channels(left)} channel(s) but right has {_channels(right)}")
    if left.dtype != right.dtype:
        raise InputError(f"left image is {left.dtype} but right image is {right.dtype}")
    return left, right


def _channels(arr: np.ndarray) -> int:
    return 1 if arr.ndim == 2 else arr.shape[2]


def to_gray(img: np.ndarray) -> np.ndarray:
    """Grey, C-contiguous copy-or-view of a checked image, keeping uint8 or uint16.

    Colour is treated as BGR (OpenCV order). Float images must be given as a pair to
    :func:`pair_to_gray` so both are scaled the same way.
    """
    arr = img
    if arr.ndim == 3:
        if arr.shape[2] == 1:
            arr = arr[:, :, 0]
        elif arr.shape[2] == 3:
            arr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_BGR2GRAY)
        else:
            arr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_BGRA2GRAY)
    return np.ascontiguousarray(arr)


def pair_to_gray(left, right) -> tuple[np.ndarray, np.ndarray]:
    """Check a pair and return both as grey C-contiguous uint8 or uint16 arrays.

    Float pairs are scaled jointly (same gain for both images) to uint16 so that the
    relative intensities of the two views are preserved.
    """
    left, right = check_pair(left, right)
    if left.dtype.kind == "f":
        lo = float(min(left.min(), right.min()))
        hi = float(max(left.max(), right.max()))
        # Halves never overflow: a pair spanning -1e308..1e308 has hi - lo = inf, which
        # would turn every pixel into NaN (and an all-invalid result).
        half_span = hi / 2 - lo / 2
        left = _scale_to_u16(left, lo, half_span)
        right = _scale_to_u16(right, lo, half_span)
    return to_gray(left), to_gray(right)


def _scale_to_u16(img, lo: float, half_span: float) -> np.ndarray:
    """Map [lo, lo + 2*half_span] linearly onto 0..65535 without overflow or underflow."""
    if not half_span > 0:
        return np.zeros(img.shape, np.uint16)
    x = img.astype(np.float64) / 2 - lo / 2
    return np.round(np.clip(x / half_span, 0.0, 1.0) * 65535.0).astype(np.uint16)


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None,
              odd: bool = False) -> int:
    """Validate an integer parameter and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be <= {maximum}, got {value}")
    if odd and value % 2 == 0:
        raise ParameterError(f"{name} must be odd, got {value}")
    return value


def check_float(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
                allow_equal_min: bool = True) -> float:
    """Validate a real parameter (finite) and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ParameterError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (not allow_equal_min and value == minimum)):
        op = ">=" if allow_equal_min else ">"
        raise ParameterError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_choice(value, name: str, choices) -> str:
    """Validate a string option against its allowed values."""
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_map(arr, name: str = "disparity") -> np.ndarray:
    """Check a 2-D real-valued map (disparity, depth, confidence; NaN = invalid).

    Returns it as float32 (a view when it already is). Raises :class:`InputError` naming
    ``name`` for a wrong number of dimensions or a non-numeric / boolean dtype.
    """
    a = np.asarray(arr)
    if a.ndim != 2:
        raise InputError(f"{name} must be a 2-D array, got shape {a.shape}")
    if a.dtype == np.bool_ or a.dtype.kind not in "fiu":
        raise InputError(f"{name} must be a real-valued array (NaN = invalid), got dtype {a.dtype}")
    return a.astype(np.float32, copy=False)


def check_disparity_map(disp, name: str = "disparity") -> np.ndarray:
    """Check a 2-D float disparity map (NaN = invalid); return it as float32."""
    arr = np.asarray(disp)
    if arr.ndim == 2 and arr.dtype.kind != "f":
        raise InputError(f"{name} must be a float array (NaN = invalid), got dtype {arr.dtype}")
    return check_map(arr, name)
