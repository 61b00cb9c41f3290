"""Per-pixel confidence in [0, 1] from the selection statistics of a cost volume.

``confidence = uniqueness * lr_agreement`` with

* ``uniqueness = sqrt((second - best) / second)``: 0 when the best non-adjacent rival
  costs as much as the winner, 1 when the winner is free (best = 0) and the rival is not;
  the square root spreads the typical SGM range (margins of a few percent) over [0, 1];
* ``lr_agreement = max(0, 1 - lr_distance / (lr_max_diff + 1))``: 1 when the right-to-left
  match agrees exactly, falling linearly with the disagreement (1 when not computed).

Invalid pixels (NaN disparity) get 0. The value ranks pixels; it is not a probability.
"""

from __future__ import annotations

import numpy as np


def confidence_map(disparity, best_cost, second_cost, lr_distance, lr_max_diff: float = 1.0,
                   sentinel: int | None = None) -> np.ndarray:
    """float32 (H, W) confidence, see the module docstring. ``sentinel``: cost meaning 'none'."""
    best = np.asarray(best_cost, dtype=np.float32)
    second = np.asarray(second_cost, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        uniq = np.where(second > 0, (second - best) / second, 0.0)
    if sentinel is not None:
        uniq = np.where(np.asarray(second_cost) >= sentinel, 1.0, uniq)
    uniq = np.sqrt(np.clip(uniq, 0.0, 1.0))
    lr = np.asarray(lr_distance, dtype=np.float32)
    tol = max(float(lr_max_diff), 0.0) + 1.0
    agree = np.where(np.isfinite(lr), np.clip(1.0 - lr / tol, 0.0, 1.0), 1.0)
    conf = (uniq * agree).astype(np.float32)
    conf[~np.isfinite(np.asarray(disparity))] = 0.0
    return conf
