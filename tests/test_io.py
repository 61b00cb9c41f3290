"""Round trips and error paths of stereo.io (images, PFM, KITTI PNG, NPY, PLY)."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from stereo.errors import FileFormatError, InputError
from stereo.io import (read_disparity, read_image, read_kitti_disparity, read_pfm, read_ply,
                       write_disparity, write_image, write_kitti_disparity, write_pfm, write_ply)
from stereo.paths import middlebury_dir

RNG = np.random.default_rng(7)


def _scene(name="Adirondack"):
    d = middlebury_dir() / name
    if not (d / "disp0GT.pfm").is_file():
        pytest.skip(f"shared Middlebury data not found at {d} (set STEREO_DATA)")
    return d


def _no_temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# ---- PFM ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 7), (4, 6, 3)])
@pytest.mark.parametrize("little", [True, False])
def test_pfm_round_trip(tmp_path, shape, little):
    arr = RNG.normal(size=shape).astype(np.float32)
    arr[0, 0] = np.inf
    arr[-1, -1] = -np.inf
    path = tmp_path / "a.pfm"
    write_pfm(path, arr, little_endian=little)
    back = read_pfm(path)
    assert back.dtype == np.float32 and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    header = path.read_bytes()[:3]
    assert header == (b"PF\n" if len(shape) == 3 else b"Pf\n")


def test_pfm_big_endian_written_by_hand(tmp_path):
    # Rows are stored bottom first: the first stored row is the array's last row.
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    arr[1, 2] = np.inf
    data = b"Pf\n4 3\n1.0\n" + arr[::-1].astype(">f4").tobytes()
    path = tmp_path / "big.pfm"
    path.write_bytes(data)
    back = read_pfm(path)
    np.testing.assert_array_equal(back, arr)
    assert back.dtype.byteorder in ("=", "<", "|") or back.dtype.isnative
    # Same content, little endian and a scale magnitude other than 1 (ignored, as Middlebury does).
    path2 = tmp_path / "little.pfm"
    path2.write_bytes(b"Pf 4 3 -0.003922\n" + arr[::-1].astype("<f4").tobytes())
    np.testing.assert_array_equal(read_pfm(path2), arr)


def test_pfm_write_does_not_touch_input(tmp_path):
    arr = np.array([[1.0, np.nan], [np.inf, 2.0]], dtype=np.float32)
    before = arr.copy()
    write_pfm(tmp_path / "x.pfm", arr)
    write_disparity(tmp_path / "x2.pfm", arr)
    np.testing.assert_array_equal(arr, before)


@pytest.mark.parametrize("payload, match", [
    (b"P6\n2 2\n255\n" + bytes(12), "not a PFM"),
    (b"Pf\n2 x\n-1.0\n" + bytes(16), "not a number"),
    (b"Pf\n0 2\n-1.0\n", "corrupt PFM header"),
    (b"Pf\n2 2\n0\n" + bytes(16), "scale"),
    (b"Pf\n2 2\n-1.0\n" + bytes(10), "truncated"),
    (b"Pf\n2 2\n-1.0\n" + bytes(20), "longer than the header"),
    (b"Pf\n2 2", "corrupt PFM header"),
])
def test_pfm_corrupt(tmp_path, payload, match):
    path = tmp_path / "bad.pfm"
    path.write_bytes(payload)
    with pytest.raises(FileFormatError, match=match) as info:
        read_pfm(path)
    assert info.value.path == str(path)
    assert "bad.pfm" in str(info.value)


def test_missing_files_name_the_path(tmp_path):
    for reader in (read_pfm, read_image, read_disparity, read_kitti_disparity, read_ply):
        missing = tmp_path / "nope.pfm"
        with pytest.raises(FileFormatError, match="nope.pfm: no such file"):
            reader(missing)
    with pytest.raises(FileFormatError, match="is a directory"):
        read_image(tmp_path)


def test_middlebury_gt_orientation():
    """The GT read from PFM must warp im1 onto im0 (a flipped reader would not)."""
    scene = _scene()
    gt = read_disparity(scene / "disp0GT.pfm")
    im0 = read_image(scene / "im0.png", color=False).astype(np.float32)
    im1 = read_image(scene / "im1.png", color=False).astype(np.float32)
    assert gt.shape == im0.shape
    h, w = gt.shape
    ys, xs = np.nonzero(np.isfinite(gt))
    xr = np.round(xs - gt[ys, xs]).astype(int)
    ok = (xr >= 0) & (xr < w)
    err = np.abs(im0[ys[ok], xs[ok]] - im1[ys[ok], xr[ok]]).mean()
    flipped = gt[::-1]
    ys2, xs2 = np.nonzero(np.isfinite(flipped))
    xr2 = np.round(xs2 - flipped[ys2, xs2]).astype(int)
    ok2 = (xr2 >= 0) & (xr2 < w)
    err_flipped = np.abs(im0[ys2[ok2], xs2[ok2]] - im1[ys2[ok2], xr2[ok2]]).mean()
    assert err < 12 and err_flipped > 2 * err, (err, err_flipped)


# ---- disparity files ------------------------------------------------------------------------
def _disp(shape=(6, 9)):
    d = RNG.uniform(0, 100, size=shape).astype(np.float32)
    d[1, 2] = np.nan
    d[3, 4] = np.nan
    return d


def test_disparity_pfm_inf_nan(tmp_path):
    d = _disp()
    write_disparity(tmp_path / "d.pfm", d)
    raw = read_pfm(tmp_path / "d.pfm")
    assert np.isinf(raw[1, 2]) and np.isinf(raw[3, 4]) and not np.isnan(raw).any()
    back = read_disparity(tmp_path / "d.pfm")
    np.testing.assert_array_equal(back, d)  # NaN positions match too


def test_disparity_npy_round_trip(tmp_path):
    d = _disp()
    d[0, 0] = -3.25  # negative disparities are fine in NPY and PFM
    write_disparity(tmp_path / "d.npy", d)
    np.testing.assert_array_equal(read_disparity(tmp_path / "d.npy"), d)
    write_disparity(tmp_path / "d.pfm", d)
    np.testing.assert_array_equal(read_disparity(tmp_path / "d.pfm"), d)


def test_kitti_round_trip(tmp_path):
    d = _disp()
    d[0, 0] = 0.0  # zero disparity must stay valid (stored as 1/256)
    d[0, 1] = 255.99
    path = tmp_path / "k.png"
    write_disparity(path, d)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.ndim == 2
    assert raw[1, 2] == 0 and raw[0, 0] == 1
    valid = np.isfinite(d)
    np.testing.assert_array_equal(raw[valid], np.maximum(np.round(d[valid] * 256), 1))
    back = read_disparity(path)
    np.testing.assert_array_equal(np.isnan(back), ~valid)
    assert np.nanmax(np.abs(back - d)) <= 1 / 256 + 1e-6
    np.testing.assert_array_equal(read_kitti_disparity(path), back)


def test_kitti_rejects_unstorable(tmp_path):
    d = _disp()
    d[2, 2] = -0.5
    with pytest.raises(InputError, match="negative disparities .* cannot be stored"):
        write_kitti_disparity(tmp_path / "k.png", d)
    d[2, 2] = 300.0
    with pytest.raises(InputError, match="above 255.996"):
        write_disparity(tmp_path / "k.png", d)
    assert not (tmp_path / "k.png").exists() and not _no_temp_files(tmp_path)


def test_kitti_reader_rejects_8bit(tmp_path):
    cv2.imwrite(str(tmp_path / "g.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(FileFormatError, match="not a KITTI disparity PNG"):
        read_disparity(tmp_path / "g.png")


def test_disparity_bad_extension_and_shape(tmp_path):
    with pytest.raises(FileFormatError, match="unsupported disparity file extension '.tif'"):
        write_disparity(tmp_path / "d.tif", _disp())
    with pytest.raises(InputError, match="2-D"):
        write_disparity(tmp_path / "d.pfm", np.zeros((2, 3, 3), np.float32))
    write_pfm(tmp_path / "c.pfm", np.zeros((2, 3, 3), np.float32))
    with pytest.raises(FileFormatError, match="1 channel"):
        read_disparity(tmp_path / "c.pfm")
    (tmp_path / "bad.npy").write_bytes(b"garbage")
    with pytest.raises(FileFormatError, match="bad.npy: not a readable .npy"):
        read_disparity(tmp_path / "bad.npy")


# ---- images -----------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".png", ".tif", ".ppm", ".pgm", ".bmp"])
def test_image_round_trip_lossless(tmp_path, ext):
    grey16 = ext in (".png", ".tif", ".pgm")
    grey = RNG.integers(0, 65535 if grey16 else 255, size=(9, 11)).astype(np.uint16 if grey16 else np.uint8)
    colour = RNG.integers(0, 255, size=(9, 11, 3)).astype(np.uint8)
    if ext != ".pgm":
        write_image(tmp_path / f"c{ext}", colour)
        back = read_image(tmp_path / f"c{ext}")
        assert back.dtype == np.uint8 and back.shape == (9, 11, 3)
        np.testing.assert_array_equal(back, colour)
        np.testing.assert_array_equal(read_image(tmp_path / f"c{ext}", color=False),
                                      cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY))
    if ext != ".ppm":
        write_image(tmp_path / f"g{ext}", grey)
        back = read_image(tmp_path / f"g{ext}", color=False)
        assert back.dtype == grey.dtype and back.shape == grey.shape
        np.testing.assert_array_equal(back, grey)
        back3 = read_image(tmp_path / f"g{ext}")
        assert back3.shape == (9, 11, 3) and back3.dtype == grey.dtype
        np.testing.assert_array_equal(back3[:, :, 1], grey)


def test_image_alpha_dropped_and_jpeg(tmp_path):
    bgra = RNG.integers(0, 255, size=(8, 8, 4)).astype(np.uint8)
    write_image(tmp_path / "a.png", bgra)
    back = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(back, bgra[:, :, :3])
    flat = np.full((16, 16, 3), 120, np.uint8)
    write_image(tmp_path / "f.jpg", flat)
    assert np.abs(read_image(tmp_path / "f.jpg").astype(int) - 120).max() <= 2


def test_image_errors(tmp_path):
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(FileFormatError, match="corrupt.png: not a readable image"):
        read_image(tmp_path / "corrupt.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty.png: file is empty"):
        read_image(tmp_path / "empty.png")
    img = np.zeros((4, 4), np.uint8)
    with pytest.raises(FileFormatError, match="does not exist"):
        write_image(tmp_path / "no_dir" / "x.png", img)
    with pytest.raises(FileFormatError, match="x.unknownext"):
        write_image(tmp_path / "x.unknownext", img)
    with pytest.raises(InputError, match="dtype"):
        write_image(tmp_path / "x.png", np.zeros((4, 4), np.int64))
    with pytest.raises(InputError, match="float32 image cannot be stored as '.jpg'"):
        write_image(tmp_path / "x.jpg", np.zeros((4, 4), np.float32))
    with pytest.raises(InputError, match="uint16 image cannot be stored as '.jpg'"):
        write_image(tmp_path / "x.jpg", np.zeros((4, 4), np.uint16))
    assert not (tmp_path / "x.jpg").exists() and not _no_temp_files(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, non-root")
def test_image_unreadable(tmp_path):
    p = tmp_path / "locked.png"
    write_image(p, np.zeros((4, 4), np.uint8))
    p.chmod(0)
    try:
        with pytest.raises(FileFormatError, match="permission denied"):
            read_image(p)
    finally:
        p.chmod(0o644)


# ---- PLY --------------------------------------------------------------------------------------
def test_ply_round_trip(tmp_path):
    pts = RNG.normal(size=(50, 3)).astype(np.float32)
    cols = RNG.integers(0, 255, size=(50, 3)).astype(np.uint8)
    pts[3, 1] = np.nan
    pts[10, 2] = np.inf
    n = write_ply(tmp_path / "c.ply", pts, cols)
    keep = np.all(np.isfinite(pts), axis=1)
    assert n == keep.sum() == 48
    back, back_cols = read_ply(tmp_path / "c.ply")
    np.testing.assert_array_equal(back, pts[keep])
    np.testing.assert_array_equal(back_cols, cols[keep])
    header = (tmp_path / "c.ply").read_bytes().split(b"end_header\n")[0].decode()
    for line in ("format binary_little_endian 1.0", "element vertex 48", "property float x",
                 "property uchar red", "property uchar blue"):
        assert line in header
    write_ply(tmp_path / "p.ply", pts)
    back, back_cols = read_ply(tmp_path / "p.ply")
    assert back_cols is None and back.shape == (48, 3)
    assert write_ply(tmp_path / "e.ply", np.zeros((0, 3))) == 0
    assert read_ply(tmp_path / "e.ply")[0].shape == (0, 3)


def test_ply_errors(tmp_path):
    with pytest.raises(InputError, match=r"shape \(N, 3\)"):
        write_ply(tmp_path / "x.ply", np.zeros((5, 2)))
    with pytest.raises(InputError, match="uint8"):
        write_ply(tmp_path / "x.ply", np.zeros((5, 3)), np.zeros((5, 3), np.float32))
    with pytest.raises(InputError, match="matching points"):
        write_ply(tmp_path / "x.ply", np.zeros((5, 3)), np.zeros((4, 3), np.uint8))
    write_ply(tmp_path / "t.ply", np.ones((5, 3)))
    data = (tmp_path / "t.ply").read_bytes()
    (tmp_path / "t.ply").write_bytes(data[:-4])
    with pytest.raises(FileFormatError, match="PLY body has"):
        read_ply(tmp_path / "t.ply")
