"""What travels to a worker (a :class:`PairJob`: paths and options) and how runs are compared.

A pair is redone when its *parameter key* (match options, ``--calib`` file signature, package
version) or its *input signature* (absolute path, bytes and mtime in ns of every file it
reads) differs from its last manifest record. Inputs are not hashed: cheap for millions of
pairs, and a rewritten file gets a new mtime.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PairJob:
    """One pair's work order: paths and options only (pickled to a worker)."""

    ref: object            # stereo.sources.PairRef
    out_root: str          # OUT; the pair's files go to OUT/<ref.name>/
    options: dict          # stereo.pipeline.match_pair keywords
    calib: str | None      # --calib (overrides the pair's own calib file)
    key: str               # parameter key recorded in the manifest
    inputs: dict           # input signature recorded in the manifest


def parameter_key(options: dict, calib: str | None) -> tuple[str, dict]:
    """(key, parameters): what makes two runs of a pair give the same outputs.

    The parameters are the ``match_pair`` options, the ``--calib`` file's signature and
    the package version; the key is a short hash of them.
    """
    from .. import __version__

    params = {"options": {k: options[k] for k in sorted(options)},
              "calib": calib_signature(calib) if calib else None, "version": __version__}
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16], params


def file_signature(path) -> dict:
    """``{"path", "bytes", "mtime_ns"}`` of a file (``"missing": True`` when absent)."""
    p = Path(path).absolute()
    try:
        st = p.stat()
    except OSError:
        return {"path": str(p), "missing": True}
    return {"path": str(p), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def calib_signature(calib):
    """Signature of a calibration argument; ``left.yaml,right.yaml`` (ROS) names two files."""
    parts = str(calib).split(",")
    return file_signature(calib) if len(parts) == 1 else [file_signature(p) for p in parts]


def absolute_calib(calib: str) -> str:
    """The calibration argument with absolute paths (workers may run elsewhere)."""
    return ",".join(str(Path(p).absolute()) for p in str(calib).split(","))


def input_signature(ref, calib: str | None) -> dict:
    """Signatures of the files a pair reads (left, right, the calibration used, ground truth)."""
    sig = {"left": file_signature(ref.left), "right": file_signature(ref.right)}
    cal = calib or ref.calib
    if cal:
        sig["calib"] = calib_signature(cal)
    if ref.gt:
        sig["gt"] = file_signature(ref.gt)
    return sig


__all__ = ["PairJob", "parameter_key", "file_signature", "calib_signature", "absolute_calib",
           "input_signature"]
