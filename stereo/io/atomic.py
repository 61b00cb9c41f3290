"""Write outputs so that a failure never leaves a half-written file behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps the suffix of ``path`` so writers that pick a format from
    the extension (``cv2.imwrite``) still work. On any exception it is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})", str(path)) from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def staged_directory(outdir):
    """Yield a temporary folder beside ``outdir``; on success move its files into ``outdir``.

    Used by commands that write several outputs: either all of them appear or none do.
    ``outdir`` is created if needed; existing files of the same names are replaced.
    """
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: exists and is not a folder", str(outdir))
    try:
        outdir.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.staging.", dir=outdir.parent))
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot create the output folder ({exc.strerror or exc})",
                          str(outdir)) from None
    try:
        yield stage
        outdir.mkdir(parents=True, exist_ok=True)
        for item in sorted(stage.iterdir()):
            os.replace(item, outdir / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
