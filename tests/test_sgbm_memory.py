"""SGBM.memory_bytes: the estimate the memory guard (STEREO_MAX_MEMORY_MB) uses for SGBM."""

import os

import numpy as np
import pytest

from stereo.diagnose import matcher_memory_bytes
from stereo.kernels.sgm import padded_count
from stereo.sgbm import C2F_PIXEL_MB, SGBM


def _status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _can_reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        _status_bytes("VmHWM")
        return True
    except OSError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs") or not _can_reset_peak(),
                    reason="needs Linux /proc peak-RSS reset")
def test_estimate_bounds_the_measured_peak():
    rng = np.random.default_rng(3)
    h, w, d = 375, 1242, 192
    left = rng.integers(0, 256, (h, w), dtype=np.uint8)
    right = np.roll(left, -20, axis=1)
    m = SGBM(0, d)
    m.match(left[:48, :300], right[:48, :300])        # compile outside the measurement
    before = _status_bytes("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                                   # VmHWM := VmRSS
    m.match(left, right)
    grown = _status_bytes("VmHWM") - before
    est = m.memory_bytes(h, w)
    assert matcher_memory_bytes(m, h, w) == est        # the guard uses the matcher's own figure
    assert est >= grown, (est, grown)
    # and it is not the old blanket guess: the volume itself is most of it
    assert est <= 3 * h * w * padded_count(d) * 1.3


def test_estimate_follows_the_plan():
    h, w = 480, 640
    # one stripe: the volume grows by 3 bytes per added cell
    a, b = SGBM(0, 64).memory_bytes(h, w), SGBM(0, 128).memory_bytes(h, w)
    assert b - a == 3 * h * w * 64
    # stripes: bounded by max_volume_mb, not by the image
    big = SGBM(0, 256, coarse_to_fine=False)
    striped = SGBM(0, 256, coarse_to_fine=False, max_volume_mb=32)
    assert striped.memory_bytes(2000, 3000) < big.memory_bytes(2000, 3000)
    # (a stripe is at least 16 core rows plus the overlap above and below)
    rows = 16 + 2 * striped.stripe_overlap
    assert striped.memory_bytes(2000, 3000) == 3 * rows * 3000 * 256 + 64 * 2000 * 3000
    assert striped.memory_bytes(2000, 3000) - striped.memory_bytes(1000, 3000) == 64 * 1000 * 3000
    # coarse-to-fine at full resolution: the stripe budget, whatever the range
    H, W = 1984, 2872
    c288, c256 = SGBM(0, 288).memory_bytes(H, W), SGBM(0, 256).memory_bytes(H, W)
    assert c288 == c256
    assert c288 <= (C2F_PIXEL_MB << 20) + 64 * H * W
