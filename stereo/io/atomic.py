"""Write outputs so that a failure never leaves a half-written file behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps the suffix of ``path`` so writers that pick a format from
    the extension (``cv2.imwrite``) still work. On any exception it is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
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
    outdir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.staging.", dir=outdir.parent))
    try:
        yield stage
        outdir.mkdir(parents=True, exist_ok=True)
        for item in sorted(stage.iterdir()):
            os.replace(item, outdir / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
