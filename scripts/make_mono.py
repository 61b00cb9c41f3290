# A stand-in for a monocular network's output (no network here): relative inverse depth made
# from the ground truth by an unknown scale and shift, a smooth non-affine error and noise,
# saved as a 16-bit PNG the way MiDaS-style tools save their maps.
import numpy as np, cv2
from calib import read_middlebury_calib
from stereo.io import read_disparity
from stereo.triangulation import depth_from_disparity
S = "data_samples/motorcycle"  # run from the project root
z = depth_from_disparity(read_disparity(f"{S}/disp0GT.pfm"), read_middlebury_calib(f"{S}/calib.txt"))
inv = np.where(np.isfinite(z), 1.0 / z, np.nan)
h, w = z.shape
x = np.arange(w)[None, :] / w
rel = 3.0 * inv * (1.0 + 0.05 * x) + 0.2 + np.random.default_rng(0).normal(0, 0.01, z.shape)
rel = np.where(np.isfinite(rel), rel, np.nanmedian(rel))   # networks are dense: no holes
png = np.round(65535 * (rel - rel.min()) / (rel.max() - rel.min())).astype(np.uint16)
cv2.imwrite("mono.png", np.maximum(png, 1))
