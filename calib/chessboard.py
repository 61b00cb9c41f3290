"""Calibration-target detection: chessboards (and ChArUco boards) in one image.

Corners are returned in a canonical order so that the same physical corner has the same
index in every view of both cameras: that is what lets per-view object points be shared
and lets ``cv2.stereoCalibrate`` pair left and right detections.

Conventions: ``columns x rows`` counts INNER corners (an 11x8 board has 12x9 squares);
object points are in metres on the board plane (z = 0), corner ``(i, j)`` at
``(i * square, j * square, 0)``; image points are pixels, (x, y), float32.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from stereo.errors import ParameterError
from stereo.validation import to_gray

_SB_PASSES = (
    ("findChessboardCornersSB", cv2.CALIB_CB_ACCURACY),
    ("findChessboardCornersSB(exhaustive)",
     cv2.CALIB_CB_ACCURACY | cv2.CALIB_CB_EXHAUSTIVE),
)
_CLASSIC_FLAGS = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 60, 1e-3)


def parse_board_size(text) -> tuple[int, int]:
    """Parse ``"11x8"`` (inner corners, columns x rows) into ``(11, 8)``."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX*,]\s*(\d+)\s*", str(text))
    if not m:
        raise ParameterError(f"board size {text!r}: expected COLUMNSxROWS of inner corners, e.g. 11x8")
    cols, rows = int(m.group(1)), int(m.group(2))
    if cols < 2 or rows < 2:
        raise ParameterError(f"board size {text!r}: need at least 2x2 inner corners")
    return cols, rows


@dataclass(frozen=True)
class Board:
    """A planar calibration target.

    Attributes:
        columns, rows: inner corners along a row and along a column.
        square_m: side of one square, metres.
        charuco_dictionary: None for a plain chessboard, else an ArUco dictionary name
            such as ``"DICT_5X5_100"`` (the board then has (columns+1) x (rows+1) squares).
        marker_m: ChArUco marker side, metres (default 0.7 * square).
    """

    columns: int
    rows: int
    square_m: float
    charuco_dictionary: str | None = None
    marker_m: float | None = None

    def __post_init__(self):
        if self.columns < 2 or self.rows < 2:
            raise ParameterError(f"board needs at least 2x2 inner corners, got {self.columns}x{self.rows}")
        if not (np.isfinite(self.square_m) and self.square_m > 0):
            raise ParameterError(f"square size must be > 0 metres, got {self.square_m}")
        if self.charuco_dictionary is not None:
            _aruco_dictionary(self.charuco_dictionary)  # validate the name early
            if self.marker_m is None:
                object.__setattr__(self, "marker_m", 0.7 * self.square_m)
            if not 0 < self.marker_m < self.square_m:
                raise ParameterError(
                    f"ChArUco marker size must be in (0, square); got {self.marker_m} m for a "
                    f"{self.square_m} m square")

    @property
    def pattern_size(self) -> tuple[int, int]:
        """OpenCV's ``patternSize`` (corners per row, corners per column)."""
        return (self.columns, self.rows)

    @property
    def n_corners(self) -> int:
        return self.columns * self.rows

    @property
    def is_charuco(self) -> bool:
        return self.charuco_dictionary is not None

    def object_points(self) -> np.ndarray:
        """(N, 3) float32 corner coordinates on the board, metres, in canonical index order."""
        if self.is_charuco:
            return np.asarray(self.charuco_board().getChessboardCorners(), np.float32).reshape(-1, 3)
        j, i = np.mgrid[0:self.rows, 0:self.columns]
        pts = np.zeros((self.n_corners, 3), np.float32)
        pts[:, 0] = i.ravel() * self.square_m
        pts[:, 1] = j.ravel() * self.square_m
        return pts

    def charuco_board(self):
        """The ``cv2.aruco.CharucoBoard`` of this target (ChArUco only)."""
        if not self.is_charuco:
            raise ParameterError("not a ChArUco board")
        return cv2.aruco.CharucoBoard((self.columns + 1, self.rows + 1), float(self.square_m),
                                      float(self.marker_m), _aruco_dictionary(self.charuco_dictionary))

    def describe(self) -> dict:
        d = {"type": "charuco" if self.is_charuco else "chessboard", "inner_corners": [self.columns, self.rows],
             "square_m": float(self.square_m)}
        if self.is_charuco:
            d.update(dictionary=self.charuco_dictionary, marker_m=float(self.marker_m))
        return d


def _aruco_dictionary(name: str):
    key = str(name).upper()
    if not key.startswith("DICT_"):
        key = "DICT_" + key
    if not hasattr(cv2.aruco, key):
        known = sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_"))
        raise ParameterError(f"unknown ArUco dictionary {name!r}; use one of {', '.join(known)}")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, key))


@dataclass
class Detection:
    """The board as found in one image.

    ``corners`` (N, 2) float32 pixels and ``ids`` (N,) int32 indices into
    :meth:`Board.object_points`; for a chessboard all corners, in canonical order. When
    ``ok`` is False, ``message`` says what was found instead.
    """

    ok: bool
    corners: np.ndarray | None = None
    ids: np.ndarray | None = None
    method: str = ""
    message: str = ""


def to_gray_u8(img) -> np.ndarray:
    """Grey uint8 view of an image (BGR/BGRA colour, uint16 scaled by its maximum)."""
    arr = to_gray(np.asarray(img))
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float64)
        hi = float(arr.max()) if arr.size else 0.0
        arr = np.clip(arr * (255.0 / hi if hi > 0 else 0.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def detect(img, board: Board) -> Detection:
    """Find ``board`` in ``img`` (grey or BGR); corners in canonical order."""
    gray = to_gray_u8(img)
    if board.is_charuco:
        return _detect_charuco(gray, board)
    return _detect_chessboard(gray, board)


def _detect_chessboard(gray: np.ndarray, board: Board) -> Detection:
    size = board.pattern_size
    for name, flags in _SB_PASSES:
        ok, corners = cv2.findChessboardCornersSB(gray, size, flags=flags)
        if ok and corners is not None:
            return _found(corners, board, name)
    # The classic detector copes with some blur/low contrast cases the SB one misses.
    ok, corners = cv2.findChessboardCorners(gray, size, flags=_CLASSIC_FLAGS)
    if ok and corners is not None:
        corners = corners.reshape(-1, 1, 2).astype(np.float32)
        win = _subpix_window(corners.reshape(board.rows, board.columns, 2))
        cv2.cornerSubPix(gray, corners, (win, win), (-1, -1), _SUBPIX_CRITERIA)
        return _found(corners, board, "findChessboardCorners+cornerSubPix")
    # Diagnosing what IS there costs ~1 s per image: callers ask for it once, when needed.
    return Detection(False, method="", message=f"no {board.columns}x{board.rows} chessboard found")


def _found(corners, board: Board, method: str) -> Detection:
    pts = canonical_order(np.asarray(corners, np.float32).reshape(-1, 2), board.columns, board.rows)
    return Detection(True, pts, np.arange(board.n_corners, dtype=np.int32), method)


def _subpix_window(grid: np.ndarray) -> int:
    # Half the smallest corner spacing keeps the search inside one square.
    step = min(np.linalg.norm(np.diff(grid, axis=0), axis=2).min(),
               np.linalg.norm(np.diff(grid, axis=1), axis=2).min())
    return int(np.clip(step * 0.4, 2, 11))


def describe_failure(img, board: Board) -> str:
    """Describe what is in the image when the requested board size was not found
    (for example "found a chessboard with 88 inner corners (11x8) but the board was given as 9x6")."""
    gray = to_gray_u8(img)
    try:
        ok, corners, meta = cv2.findChessboardCornersSBWithMeta(
            gray, (3, 3), flags=cv2.CALIB_CB_LARGER | cv2.CALIB_CB_EXHAUSTIVE)
    except cv2.error:
        ok, corners, meta = False, None, None
    want = f"{board.columns}x{board.rows}"
    if ok and corners is not None and meta is not None:
        a, b = sorted(np.asarray(meta).shape[:2], reverse=True)
        n = int(np.asarray(corners).reshape(-1, 2).shape[0])
        return (f"found a chessboard with {n} inner corners ({a}x{b}) but the board was given as "
                f"{want} ({board.n_corners} corners)")
    return f"no {want} chessboard found"


def _orderings(grid: np.ndarray):
    """The re-indexings of a (rows, cols, 2) grid that describe the same physical board."""
    yield grid
    yield grid[::-1, ::-1]
    yield grid[::-1, :]
    yield grid[:, ::-1]
    if grid.shape[0] == grid.shape[1]:
        t = grid.transpose(1, 0, 2)
        yield t
        yield t[::-1, ::-1]
        yield t[::-1, :]
        yield t[:, ::-1]


def canonical_order(corners: np.ndarray, columns: int, rows: int) -> np.ndarray:
    """Re-index chessboard corners so that corner 0 is the grid corner nearest the image's
    top-left (smallest x + y) and rows run along the board's ``columns`` direction.

    Detectors may start from any of the four grid corners (a plane seen from either side
    is a valid pose, so all four orderings calibrate); fixing one makes views agree.
    """
    grid = np.asarray(corners, np.float32).reshape(rows, columns, 2)
    best = min(_orderings(grid), key=lambda g: float(g[0, 0].sum()))
    return np.ascontiguousarray(best.reshape(-1, 2))


def match_order(reference: np.ndarray, corners: np.ndarray, columns: int, rows: int) -> np.ndarray:
    """Re-index ``corners`` to the ordering of ``reference`` (the other view of a stereo pair).

    Picks, among the equivalent orderings, the one whose centred layout is closest to the
    reference's: robust even when the "top-left" rule is ambiguous (board at 45 degrees).
    """
    ref = np.asarray(reference, np.float64).reshape(rows, columns, 2)
    ref = ref - ref.reshape(-1, 2).mean(axis=0)
    grid = np.asarray(corners, np.float32).reshape(rows, columns, 2)

    def cost(g):
        c = g.astype(np.float64) - g.reshape(-1, 2).mean(axis=0)
        return float(((c - ref) ** 2).sum())

    best = min(_orderings(grid), key=cost)
    return np.ascontiguousarray(best.reshape(-1, 2))


def _detect_charuco(gray: np.ndarray, board: Board) -> Detection:
    cb = board.charuco_board()
    detector = cv2.aruco.CharucoDetector(cb)
    ch_corners, ch_ids, _, marker_ids = detector.detectBoard(gray)
    n = 0 if ch_ids is None else len(ch_ids)
    if n < 6:
        markers = 0 if marker_ids is None else len(marker_ids)
        return Detection(False, message=f"ChArUco board not found ({markers} markers, {n} corners "
                                        f"detected; need at least 6 corners)")
    ids = np.asarray(ch_ids, np.int32).ravel()
    order = np.argsort(ids)
    # ids index CharucoBoard.getChessboardCorners(), which Board.object_points returns.
    return Detection(True, np.asarray(ch_corners, np.float32).reshape(-1, 2)[order], ids[order],
                     "CharucoDetector")


def render_charuco(board: Board, pixels_per_square: int = 60, margin_px: int = 20) -> np.ndarray:
    """A synthetic image of a ChArUco ``board`` (grey uint8), for tests and printing."""
    cb = board.charuco_board()
    size = ((board.columns + 1) * pixels_per_square + 2 * margin_px,
            (board.rows + 1) * pixels_per_square + 2 * margin_px)
    return cb.generateImage(size, marginSize=margin_px, borderBits=1)


__all__ = ["Board", "Detection", "parse_board_size", "detect", "canonical_order", "match_order",
           "render_charuco", "to_gray_u8", "describe_failure"]
