"""3x3 valid-pixel median: windows with holes (the -inf/+inf stand-in path) against the NumPy twin."""

from __future__ import annotations

import numpy as np
import pytest

from naive import naive_median_valid
from stereo.postprocess.median import median3x3_valid


@pytest.mark.parametrize("hole_fraction", [0.1, 0.4, 0.7, 0.9])
@pytest.mark.parametrize("seed", [0, 1])
def test_median_with_holes_matches_numpy_twin_exactly(hole_fraction, seed):
    rng = np.random.default_rng(seed)
    disp = rng.uniform(-5, 40, (17, 23)).astype(np.float32)
    disp[rng.random(disp.shape) < hole_fraction] = np.nan
    out = median3x3_valid(disp)
    ref = naive_median_valid(disp)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(disp))
    # the even-count mean is (a + b) * 0.5 in float32 in both
    np.testing.assert_allclose(out, ref, rtol=0, atol=2e-6, equal_nan=True)


def test_median_of_two_and_of_one():
    d = np.full((3, 3), np.nan, np.float32)
    d[1, 1], d[0, 0] = 2.0, 5.0
    out = median3x3_valid(d)
    assert out[1, 1] == np.float32(3.5) and out[0, 0] == np.float32(3.5)
    d[0, 0] = np.nan
    assert median3x3_valid(d)[1, 1] == np.float32(2.0)
