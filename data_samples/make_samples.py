#!/usr/bin/env python3
"""Render the synthetic sample scenes (exact ground truth) and copy the Motorcycle pair.

    python data_samples/make_samples.py [--out DIR] [--scenes planes,negative,motorcycle]

Each synthetic scene is a set of textured planes seen by a rectified pair. A plane is
linear in disparity space, ``d(x, y) = a*x + b*y + c`` in left-image coordinates (a 3-D
plane has ``1/Z`` linear in the image, and ``d + doffs`` is proportional to ``1/Z``), and
has a support region drawn in the left image. Its texture is painted in left-image
coordinates, so a surface point keeps the same colour in both views.

Rendering, both views exact and z-buffered (larger disparity = nearer wins):

* left view: each pixel ``(x, y)`` takes the nearest plane whose region covers it; the
  ground truth is that plane's ``d(x, y)`` (known everywhere);
* right view: for every plane, the right pixel ``x_r`` is the image of the plane point
  ``x_l = (x_r + b*y + c) / (1 - a)`` (solving ``x_l - d(x_l, y) = x_r``); the nearest
  covering plane wins and is sampled at ``x_l``, i.e. every plane is warped per pixel
  into the right view with exact sub-pixel positions and no holes;
* ``mask0nocc.png``: 255 where the left pixel is the nearest surface at ``x - d`` in the
  right view, 128 where it is hidden there (occluded) or falls outside the right image.

Then photometric differences: independent Gaussian noise in each view and a gain/bias
change in the right one. Everything is seeded, so the outputs are byte-identical on
every run with the same NumPy/OpenCV versions.

``motorcycle`` copies the Middlebury 2014 Motorcycle pair that scikit-image ships
(``skimage/data/motorcycle_*``, quarter resolution) when scikit-image is importable.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from calib.middlebury import write_middlebury_calib  # noqa: E402
from calib.model import StereoCalibration  # noqa: E402
from stereo.io.pfm import write_pfm  # noqa: E402

TEXTURE_MARGIN = 96  # texture pixels beyond each image side (right view samples x_l = x_r + d)


@dataclass(frozen=True)
class Plane:
    """``d = a*x + b*y + c`` (left-image pixels) over a region of the left image."""

    a: float
    b: float
    c: float
    region: tuple  # ("all",), ("rect", x0, y0, x1, y1) or ("disc", cx, cy, r)
    colour: tuple  # mean BGR of the texture
    feature_px: float = 1.6  # Gaussian blur of the texture noise, pixels

    def disparity(self, x, y):
        return self.a * x + self.b * y + self.c

    def covers(self, x, y):
        kind = self.region[0]
        if kind == "all":
            return np.ones(np.broadcast(x, y).shape, dtype=bool)
        if kind == "rect":
            x0, y0, x1, y1 = self.region[1:]
            return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        if kind == "disc":
            cx, cy, r = self.region[1:]
            return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
        raise ValueError(f"unknown region {self.region!r}")


@dataclass(frozen=True)
class SceneSpec:
    name: str
    width: int
    height: int
    planes: tuple
    seed: int
    focal_px: float
    doffs: float
    baseline_mm: float
    ndisp: int
    vmin: int | None = None  # None: floor of the ground truth minimum
    gain: float = 1.12  # right view = gain * scene + bias (+ noise)
    bias: float = -9.0
    noise_sigma: float = 1.5
    notes: dict = field(default_factory=dict)


SCENES = {
    "planes": SceneSpec(
        name="planes", width=320, height=240, seed=20240601, focal_px=360.0, doffs=8.0,
        baseline_mm=120.0, ndisp=48,
        planes=(
            Plane(0.0, 0.0, 6.0, ("all",), (120, 140, 150), 2.0),                 # far wall
            Plane(0.06, 0.04, 10.0 - 0.06 * 20 - 0.04 * 130, ("rect", 20, 130, 180, 235),
                  (90, 160, 110)),                                                # slanted ramp
            Plane(0.0, 0.0, 28.0, ("rect", 170, 30, 280, 150), (160, 110, 90)),  # box
            Plane(0.0, 0.0, 40.0, ("disc", 110, 80, 45), (80, 120, 190), 1.3),   # near disc
        )),
    "negative": SceneSpec(
        name="negative", width=320, height=240, seed=20240602, focal_px=360.0, doffs=40.0,
        baseline_mm=120.0, ndisp=32, vmin=-7,
        planes=(
            Plane(0.0, 0.0, -6.4, ("all",), (130, 130, 130), 2.0),                 # behind the
            Plane(0.07, 0.0, -4.0 - 0.07 * 30, ("rect", 30, 20, 200, 120),         # convergence
                  (100, 150, 170)),                                                # distance
            Plane(0.0, 0.0, 10.0, ("rect", 180, 100, 300, 220), (170, 120, 100)),
            Plane(0.0, 0.0, 18.0, ("disc", 90, 170, 40), (90, 170, 120), 1.3),
        )),
}


def _texture(plane: Plane, shape, rng) -> np.ndarray:
    """float32 (H, W, 3) smooth random colour texture around ``plane.colour``."""
    h, w = shape
    noise = rng.standard_normal((h, w, 3)).astype(np.float32)
    fine = cv2.GaussianBlur(noise, (0, 0), plane.feature_px)
    coarse = cv2.GaussianBlur(rng.standard_normal((h, w, 1)).astype(np.float32), (0, 0), 8.0)
    fine *= 40.0 / max(float(fine.std()), 1e-6)
    coarse = coarse[:, :, None] if coarse.ndim == 2 else coarse
    coarse *= 25.0 / max(float(coarse.std()), 1e-6)
    return np.asarray(plane.colour, np.float32) + 0.7 * fine + 0.3 * fine.mean(axis=2, keepdims=True) + coarse


def _sample(texture: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Bilinear samples of a texture at left-image coordinates (float arrays)."""
    mx = (xs + TEXTURE_MARGIN).astype(np.float32)
    my = (ys + TEXTURE_MARGIN).astype(np.float32)
    return cv2.remap(texture, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _right_view_geometry(plane: Plane, xr: np.ndarray, y: np.ndarray):
    """Left coordinate, disparity and coverage of the plane point seen at right pixel ``xr``."""
    xl = (xr + plane.b * y + plane.c) / (1.0 - plane.a)
    d = plane.disparity(xl, y)
    return xl, d, plane.covers(xl, y)


def render(spec: SceneSpec) -> dict:
    """Render a scene: ``{"im0", "im1"}`` uint8 BGR, ``"disp0GT"`` float32, ``"mask0nocc"`` uint8."""
    rng = np.random.default_rng(spec.seed)
    h, w = spec.height, spec.width
    tex_shape = (h + 2 * TEXTURE_MARGIN, w + 2 * TEXTURE_MARGIN)
    textures = [_texture(p, tex_shape, rng) for p in spec.planes]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)

    # Left view and ground truth.
    gt = np.full((h, w), -np.inf)
    owner = np.full((h, w), -1)
    for i, p in enumerate(spec.planes):
        d = p.disparity(xs, ys)
        win = p.covers(xs, ys) & (d > gt)
        gt[win], owner[win] = d[win], i
    left = np.zeros((h, w, 3), np.float32)
    for i, tex in enumerate(textures):
        sel = owner == i
        left[sel] = _sample(tex, xs, ys)[sel]

    # Right view: per-plane exact warp, z-buffered.
    zbuf = np.full((h, w), -np.inf)
    right = np.zeros((h, w, 3), np.float32)
    for p, tex in zip(spec.planes, textures):
        xl, d, cov = _right_view_geometry(p, xs, ys)
        win = cov & (d > zbuf)
        zbuf[win] = d[win]
        right[win] = _sample(tex, xl, ys)[win]
    if not np.all(np.isfinite(zbuf)):
        raise RuntimeError(f"{spec.name}: the right view has uncovered pixels; add a background plane")

    # Occlusion: the left pixel is visible in the right view iff no plane is nearer at x - d.
    xr = xs - gt
    visible = (xr >= 0) & (xr <= w - 1)
    for p in spec.planes:
        _, d, cov = _right_view_geometry(p, xr, ys)
        visible &= ~(cov & (d > gt + 1e-6))
    mask = np.where(visible, 255, 128).astype(np.uint8)

    left_noisy = left + rng.normal(0.0, spec.noise_sigma, left.shape)
    right_noisy = spec.gain * right + spec.bias + rng.normal(0.0, spec.noise_sigma, right.shape)
    to_u8 = lambda a: np.clip(np.round(a), 0, 255).astype(np.uint8)  # noqa: E731
    return {"im0": to_u8(left_noisy), "im1": to_u8(right_noisy), "disp0GT": gt.astype(np.float32),
            "mask0nocc": mask}


def calibration(spec: SceneSpec, gt: np.ndarray) -> StereoCalibration:
    """Middlebury-style model; ``vmin``/``vmax`` bound the ground truth (integers)."""
    cx0, cy = (spec.width - 1) / 2.0, (spec.height - 1) / 2.0
    vmin = spec.vmin if spec.vmin is not None else int(math.floor(float(gt.min())))
    vmax = int(math.ceil(float(gt.max())))
    if vmin > gt.min() or (vmin < 0 and vmin + spec.ndisp - 1 < vmax) or (vmin >= 0 and spec.ndisp <= vmax):
        raise RuntimeError(f"{spec.name}: ndisp/vmin do not cover the ground truth")
    return StereoCalibration(focal_px=spec.focal_px, cx_left=cx0, cx_right=cx0 + spec.doffs, cy=cy,
                             baseline=spec.baseline_mm, baseline_unit="mm", width=spec.width,
                             height=spec.height, ndisp=spec.ndisp, vmin=vmin, vmax=vmax)


def _write_png(path: Path, img: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError(f"cannot encode {path}")
    path.write_bytes(buf.tobytes())


def write_scene(name: str, out_root: Path) -> Path:
    """Render scene ``name`` into ``out_root/name`` (MiddEval3 file names); return the folder."""
    spec = SCENES[name]
    out = Path(out_root) / name
    out.mkdir(parents=True, exist_ok=True)
    data = render(spec)
    _write_png(out / "im0.png", data["im0"])
    _write_png(out / "im1.png", data["im1"])
    _write_png(out / "mask0nocc.png", data["mask0nocc"])
    write_pfm(out / "disp0GT.pfm", data["disp0GT"])
    write_middlebury_calib(out / "calib.txt", calibration(spec, data["disp0GT"]))
    return out


# --------------------------------------------------------------------------------------
# Motorcycle (Middlebury 2014, quarter resolution, as shipped by scikit-image)

MOTORCYCLE_CALIB = dict(focal_px=994.978, cx_left=311.193, cy=254.877, doffs=31.086, baseline_mm=193.001)
OCCLUSION_TOLERANCE_PX = 0.5


def occlusion_mask_from_gt(gt: np.ndarray, tol: float = OCCLUSION_TOLERANCE_PX) -> np.ndarray:
    """Middlebury-style mask0nocc derived from a left disparity map alone.

    A left pixel is occluded (128) when a pixel further right on its row lands at least
    ``tol`` px to its left in the right view (``x' - d' < x - d - tol``): a nearer
    surface covers it. Pixels falling outside the right image are 128 too; unknown
    ground truth is 0; the rest 255. This approximates Middlebury's official masks
    (computed with the right-view ground truth, which scikit-image does not ship).
    """
    h, w = gt.shape
    known = np.isfinite(gt)
    xr = np.where(known, np.arange(w)[None, :] - np.where(known, gt, 0.0), np.inf)
    # min over x' > x of x' - d(x'), as a reversed running minimum shifted by one.
    suffix_min = np.minimum.accumulate(xr[:, ::-1], axis=1)[:, ::-1]
    right_min = np.concatenate([suffix_min[:, 1:], np.full((h, 1), np.inf)], axis=1)
    occluded = known & ((right_min < xr - tol) | (xr < 0) | (xr > w - 1))
    mask = np.zeros((h, w), np.uint8)
    mask[known] = 255
    mask[occluded] = 128
    return mask


def copy_motorcycle(out_root: Path) -> Path | None:
    """Copy scikit-image's Motorcycle pair into ``out_root/motorcycle``; None without skimage."""
    try:
        import skimage.data
    except ImportError:
        return None
    src = Path(skimage.data.__file__).resolve().parent
    files = {n: src / f"motorcycle_{n}" for n in ("left.png", "right.png", "disp.npz")}
    if not all(f.is_file() for f in files.values()):
        return None
    out = Path(out_root) / "motorcycle"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(files["left.png"], out / "im0.png")
    shutil.copyfile(files["right.png"], out / "im1.png")
    with np.load(files["disp.npz"]) as npz:
        gt = np.asarray(npz["arr_0"], dtype=np.float32)
    gt = np.where(np.isfinite(gt), gt, np.float32(np.inf))  # scikit-image uses inf (and NaN in docs)
    left = cv2.imread(str(out / "im0.png"), cv2.IMREAD_UNCHANGED)
    h, w = left.shape[:2]
    if gt.shape != (h, w):
        raise RuntimeError(f"motorcycle GT {gt.shape} does not match the images {(h, w)}")
    write_pfm(out / "disp0GT.pfm", gt)
    _write_png(out / "mask0nocc.png", occlusion_mask_from_gt(gt))
    known = gt[np.isfinite(gt)]
    c = MOTORCYCLE_CALIB
    ndisp = int(16 * math.ceil((math.ceil(float(known.max())) + 1) / 16))
    calib = StereoCalibration(focal_px=c["focal_px"], cx_left=c["cx_left"],
                              cx_right=c["cx_left"] + c["doffs"], cy=c["cy"], baseline=c["baseline_mm"],
                              baseline_unit="mm", width=w, height=h, ndisp=ndisp,
                              vmin=int(math.floor(float(known.min()))),
                              vmax=int(math.ceil(float(known.max()))))
    write_middlebury_calib(out / "calib.txt", calib)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE), help="output root (default: this folder)")
    parser.add_argument("--scenes", default=",".join([*SCENES, "motorcycle"]),
                        help="comma-separated: " + ", ".join([*SCENES, "motorcycle"]))
    args = parser.parse_args(argv)
    out_root = Path(args.out)
    for name in [s.strip() for s in args.scenes.split(",") if s.strip()]:
        if name == "motorcycle":
            folder = copy_motorcycle(out_root)
            print(f"motorcycle: {'skipped (scikit-image not importable)' if folder is None else folder}")
        elif name in SCENES:
            print(f"{name}: {write_scene(name, out_root)}")
        else:
            parser.error(f"unknown scene {name!r}; choose from {', '.join([*SCENES, 'motorcycle'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
