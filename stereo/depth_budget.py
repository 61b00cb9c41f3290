"""Choose the disparity search range from the depths you care about, and back.

For a rectified pair ``d = f*B/Z - doffs`` (pixels, ``B`` in metres): the nearest
depth gives the largest disparity, the farthest the smallest (``far = inf`` gives
``-doffs``). The search range is ``[min_disparity, min_disparity + num_disparities - 1]``.
"""

from __future__ import annotations

import math

from .errors import InputError, ParameterError
from .validation import check_int


def _calibration(calib):
    from .triangulation import _calibration as rect
    try:
        return rect(calib)
    except InputError as exc:  # a wrong calib object is a bad parameter of this call
        raise ParameterError(str(exc)) from None


def _depth(value, name: str, *, allow_inf: bool) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a depth in metres, got {value!r}") from None
    if math.isnan(value) or value <= 0 or (math.isinf(value) and not allow_inf):
        raise ParameterError(f"{name} must be a positive{'' if allow_inf else ' finite'} depth in "
                             f"metres, got {value}")
    return value


def disparity_range(calib, near_m, far_m, *, margin_px: int = 1) -> tuple[int, int]:
    """The integer search range covering depths ``[near_m, far_m]``.

    Args:
        calib: rectified :class:`calib.StereoCalibration`.
        near_m: nearest depth to measure, metres (> 0).
        far_m: farthest depth, metres (> near_m; ``inf`` = to infinity).
        margin_px: extra disparities added on both ends (sub-pixel refinement needs
            a neighbour on each side of the best match).

    Returns:
        ``(min_disparity, num_disparities)``.

    Raises:
        ParameterError: bad depths, or ``near_m`` so close that its disparity exceeds
            the image width (the message gives the nearest depth this rig can see).
    """
    calib = _calibration(calib)
    near = _depth(near_m, "near", allow_inf=False)
    far = _depth(far_m, "far", allow_inf=True)
    if not far > near:
        raise ParameterError(f"far ({far:g} m) must be greater than near ({near:g} m)")
    margin = check_int(margin_px, "margin_px", minimum=0)
    fb = calib.focal_px * calib.baseline_m
    d_max = fb / near - calib.doffs
    d_min = (fb / far if math.isfinite(far) else 0.0) - calib.doffs
    if calib.width and d_max > calib.width - 1:
        z_min = fb / (calib.width - 1 + calib.doffs)
        raise ParameterError(
            f"near = {near:g} m needs disparity {d_max:.1f} px, more than the {calib.width}-px "
            f"image allows; the nearest depth this rig can measure is {z_min:.3g} m")
    lo = math.floor(d_min) - margin
    hi = math.ceil(d_max) + margin
    return int(lo), int(hi - lo + 1)


def depth_limits(calib, min_disparity, num_disparities) -> tuple[float, float]:
    """``(near_m, far_m)`` depths seen by a search range (``far_m`` may be ``inf``).

    Raises:
        ParameterError: ``num_disparities < 1`` or a range whose largest disparity is
            at or behind infinity (``d + doffs <= 0``), which sees nothing.
    """
    calib = _calibration(calib)
    lo = check_int(min_disparity, "min_disparity")
    n = check_int(num_disparities, "num_disparities", minimum=1)
    hi = lo + n - 1
    fb = calib.focal_px * calib.baseline_m
    if hi + calib.doffs <= 0:
        raise ParameterError(
            f"disparities [{lo}, {hi}] are all at or beyond infinity for doffs = {calib.doffs:g}; "
            f"the range must reach above {-calib.doffs:g} px")
    near = fb / (hi + calib.doffs)
    far = fb / (lo + calib.doffs) if lo + calib.doffs > 0 else math.inf
    return float(near), float(far)


def describe_range(calib, min_disparity, num_disparities, source: str | None = None) -> str:
    """One line saying which disparities are searched and, with a calibration, which depths.

    E.g. ``"searched disparities [0, 63] px (default) = depths 0.965 m .. inf"``.
    """
    hi = int(min_disparity) + int(num_disparities) - 1
    text = f"searched disparities [{int(min_disparity)}, {hi}] px" + (f" ({source})" if source else "")
    if calib is None:
        return text + "; no calibration, so no depths"
    try:
        near, far = depth_limits(calib, min_disparity, num_disparities)
    except ParameterError as exc:
        return f"{text}; {exc}"
    far_text = "inf" if math.isinf(far) else f"{far:.3g} m"
    return (f"{text} = depths {near:.3g} m .. {far_text}; nearer surfaces are not measured "
            f"(set --near or num_disparities to reach them)")


__all__ = ["disparity_range", "depth_limits", "describe_range"]
