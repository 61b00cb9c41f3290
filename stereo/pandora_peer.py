"""CNES Pandora as a peer matcher for ``stereo bench`` (optional; ``pip install 'stereodepth[peers]'``).

Pandora is not a dependency of this project: this module imports it lazily, only when a
matcher is built. The pipeline is the one our reference number was measured with:

census 5x5 (pixel step) -> SGM (pandora_plugin_libsgm, its default penalties: sgm_penalty,
P1 = 4, P2 = 20, constant, 8 directions) -> winner-take-all -> "vfit" sub-pixel refinement
-> 3x3 median filter -> left-right cross-checking (``cross_checking_accurate``, 1 px).

Conventions differ from ours in two ways that this adapter undoes:

* Pandora's disparity is ``x_right - x_left`` (``I_L(x) = I_R(x + d)``), ours is
  ``x_left - x_right``: the search range ``[dmin, dmax]`` becomes ``[-dmax, -dmin]`` for
  Pandora, and the output is negated.
* Pandora keeps a disparity value at pixels its ``validity_mask`` flags invalid
  (occlusions and mismatches of the cross-check, borders, no-data); we return NaN
  wherever any bit of ``Criteria.PANDORA_MSK_PIXEL_INVALID`` is set, where the map is NaN,
  and where a value falls outside ``[dmin, dmax]``.

Pandora reads its inputs from raster files (rasterio), so each call writes the two grey
images to a temporary folder; that cost is part of the measured time.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings

import cv2
import numpy as np

from .validation import to_gray

#: Modules that must import for this peer to run (SGM lives in a separate plugin).
REQUIRED_MODULES = ("pandora", "pandora_plugin_libsgm")

CENSUS_WINDOW = 5
MEDIAN_SIZE = 3
CROSS_CHECK_THRESHOLD_PX = 1.0


def pipeline_config() -> dict:
    """The Pandora ``pipeline`` section (a fresh dict: Pandora mutates it while checking)."""
    return {
        "matching_cost": {"matching_cost_method": "census", "window_size": CENSUS_WINDOW, "subpix": 1},
        "optimization": {"optimization_method": "sgm"},  # plugin defaults: P1 4, P2 20
        "disparity": {"disparity_method": "wta", "invalid_disparity": "NaN"},
        "refinement": {"refinement_method": "vfit"},
        "filter": {"filter_method": "median", "filter_size": MEDIAN_SIZE},
        "validation": {"validation_method": "cross_checking_accurate",
                       "cross_checking_threshold": CROSS_CHECK_THRESHOLD_PX},
    }


def pandora_matcher(min_disparity: int, num_disparities: int):
    """A callable ``(left, right) -> float32 disparity`` (ours: ``x_left - x_right``, NaN invalid).

    Inputs are BGR or grey uint8 images of the same size (converted to grey). Raises
    ImportError when Pandora or its SGM plugin is missing.
    """
    import pandora
    import pandora_plugin_libsgm  # noqa: F401  (registers "sgm"; fail here, not mid-run)
    from pandora.check_configuration import check_conf
    from pandora.constants import Criteria
    from pandora.state_machine import PandoraMachine

    pandora.import_plugin()
    # Every PandoraMachine() makes `transitions` log a dozen harmless "Skip binding" warnings.
    logging.getLogger("transitions.core").setLevel(logging.ERROR)
    dmin, dmax = int(min_disparity), int(min_disparity) + int(num_disparities) - 1
    invalid_bits = int(Criteria.PANDORA_MSK_PIXEL_INVALID)

    def run(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="stereo-pandora-") as tmp:
            paths = []
            for name, img in (("left", left), ("right", right)):
                path = os.path.join(tmp, f"{name}.tif")
                if not cv2.imwrite(path, np.ascontiguousarray(to_gray(img))):
                    raise RuntimeError(f"could not write {path}")
                paths.append(path)
            user_cfg = {
                "input": {
                    # Pandora's sign convention: d_pandora = -d_ours.
                    "left": {"img": paths[0], "disp": [-dmax, -dmin], "nodata": -9999},
                    "right": {"img": paths[1], "disp": [dmin, dmax], "nodata": -9999},
                },
                "pipeline": pipeline_config(),
            }
            with warnings.catch_warnings():
                # rasterio warns that plain images have no geotransform
                warnings.simplefilter("ignore")
                machine = PandoraMachine()
                cfg = check_conf(user_cfg, machine)
                img_left = pandora.create_dataset_from_inputs(input_config=cfg["input"]["left"])
                img_right = pandora.create_dataset_from_inputs(input_config=cfg["input"]["right"])
                out_left, _ = pandora.run(machine, img_left, img_right, cfg)
        disp = -np.asarray(out_left["disparity_map"].data, dtype=np.float32)
        mask = np.asarray(out_left["validity_mask"].data)
        invalid = ((mask & invalid_bits) != 0) | ~np.isfinite(disp)
        with np.errstate(invalid="ignore"):
            invalid |= (disp < dmin) | (disp > dmax)
        disp[invalid] = np.nan
        return disp

    return run
