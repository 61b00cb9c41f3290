"""Write outputs so that a failure never leaves a half-written file or a mixed set behind.

* :func:`atomic_path`: one file, written beside its target and renamed onto it.
* :func:`staged_directory`: several files of one output folder, as a set:

  1. the output folder is created and **locked** (``flock`` on the folder itself, so no
     lock file is left behind); a second run into the same folder waits up to
     ``STEREO_OUTPUT_LOCK_TIMEOUT`` seconds (default 30), then refuses with OutputError;
  2. staging folders ``.NAME.staging.PID.*`` left by killed runs are removed (under the
     lock no live run can own one);
  3. the files are written into a fresh staging folder beside the output folder;
  4. on success the previous members of the set (the new names, plus the ``replaces``
     names: outputs of another kind from an earlier run) are moved aside, the new files
     renamed in, and the old ones deleted; if any step fails, everything is moved back and
     OutputError is raised. Files with other names are never touched.

Written files get the permissions an ordinary ``open()`` would give (``0666 & ~umask``),
not ``mkstemp``'s 0600, so other users and containers can read them as the umask allows.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError

STALE_STAGING_SECONDS = 3600
"""A staging folder whose owner cannot be told is removed once this old."""


def current_umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: the classic read-and-restore
    os.umask(mask)
    return mask


def _apply_umask(path, directory: bool = False) -> None:
    mode = (0o777 if directory else 0o666) & ~current_umask()
    try:
        os.chmod(path, mode)
    except OSError:
        pass  # permissions are best effort; the content is what matters


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps the suffix of ``path`` so writers that pick a format from
    the extension (``cv2.imwrite``) still work. On any exception it is removed and
    ``path`` is left as it was. The result has mode ``0666 & ~umask``.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, cannot write a file there", str(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise OutputError(f"{path}: cannot write here ({getattr(exc, 'strerror', None) or exc})", str(path)) from None
    os.close(fd)
    try:
        yield Path(tmp)
        _apply_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _lock_timeout() -> float:
    text = os.environ.get("STEREO_OUTPUT_LOCK_TIMEOUT", "30")
    try:
        value = float(text)
    except ValueError:
        raise OutputError(f"STEREO_OUTPUT_LOCK_TIMEOUT={text!r} must be a number of seconds") from None
    return max(0.0, value)


@contextmanager
def locked_directory(outdir: Path):
    """Hold an exclusive ``flock`` on the folder ``outdir`` (created if needed)."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{outdir}: exists and is not a folder", str(outdir)) from None
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot create the output folder ({exc.strerror or exc})",
                          str(outdir)) from None
    if not outdir.is_dir():
        raise OutputError(f"{outdir}: exists and is not a folder", str(outdir))
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking, the rest still holds
        yield
        return
    try:
        fd = os.open(outdir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot open the output folder ({exc.strerror or exc})",
                          str(outdir)) from None
    try:
        deadline = time.monotonic() + _lock_timeout()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    break  # a file system without flock: go on unlocked
                if time.monotonic() >= deadline:
                    raise OutputError(
                        f"{outdir}: another stereo run is writing into this folder; waited "
                        f"{_lock_timeout():g} s (STEREO_OUTPUT_LOCK_TIMEOUT). Use another -o or "
                        f"wait for it to finish", str(outdir)) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_STAGING_PID_RE = re.compile(r"(\d+)\.")  # after ".NAME.staging.": "PID.random"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale_staging(outdir: Path) -> list[Path]:
    """Remove ``.NAME.staging.*`` folders of ``outdir`` left by killed runs; return them.

    Call with the folder locked. A folder is stale when the process id in its name is no
    longer running (or is this process), or, for a name without one, when it is older
    than :data:`STALE_STAGING_SECONDS`.
    """
    removed = []
    prefix = f".{outdir.name}.staging."
    entries = []
    for folder in (outdir.parent, outdir):
        try:
            entries += list(folder.iterdir())
        except OSError:
            pass
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(prefix) or entry.is_symlink() or not entry.is_dir():
            continue
        m = _STAGING_PID_RE.match(entry.name[len(prefix):])
        if m:
            stale = not _pid_alive(int(m.group(1)))
        else:
            try:
                stale = now - entry.stat().st_mtime > STALE_STAGING_SECONDS
            except OSError:
                stale = False
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _commit(stage: Path, outdir: Path, replaces) -> None:
    """Move the staged files into ``outdir`` as one set, rolling back on failure."""
    new = sorted(p.name for p in stage.iterdir() if not p.name.startswith(".old"))
    targets = sorted(set(new) | {n for n in replaces if (outdir / n).exists() or (outdir / n).is_symlink()})
    for name in targets:
        t = outdir / name
        if t.is_dir() and not t.is_symlink():
            raise OutputError(f"{t}: is a folder, cannot replace it with an output file "
                              f"(nothing was written)", str(t))
    if not os.access(outdir, os.W_OK | os.X_OK):
        raise OutputError(f"{outdir}: output folder is not writable (nothing was written)", str(outdir))
    old = stage / ".old"
    old.mkdir()
    moved_old, moved_new = [], []
    try:
        for name in targets:
            t = outdir / name
            if t.exists() or t.is_symlink():
                os.replace(t, old / name)
                moved_old.append(name)
        for name in new:
            os.replace(stage / name, outdir / name)
            moved_new.append(name)
    except OSError as exc:
        for name in moved_new:  # roll back: the previous set comes back whole
            try:
                os.replace(outdir / name, stage / name)
            except OSError:
                pass
        for name in moved_old:
            try:
                os.replace(old / name, outdir / name)
            except OSError:
                pass
        raise OutputError(f"{outdir}: cannot move the outputs into place ({exc.strerror or exc}); "
                          f"the folder was left as it was", str(outdir)) from None


@contextmanager
def staged_directory(outdir, replaces=()):
    """Yield a staging folder; on success its files replace their namesakes in ``outdir``.

    Used by commands that write several outputs: either all of them appear or none do.
    ``replaces``: further file names of the same output family; any of them left in
    ``outdir`` by an earlier run is removed, so the folder never mixes two runs. Other
    files in ``outdir`` are left alone. See the module docstring for locking and cleanup.

    Raises:
        OutputError: ``outdir`` is a file, not writable, locked by another run too long,
            or a target name is a folder.
    """
    if not str(outdir).strip():
        raise OutputError("empty output folder name")
    outdir = Path(os.path.abspath(outdir))
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: exists and is not a folder", str(outdir))
    with locked_directory(outdir):
        clean_stale_staging(outdir)
        prefix = f".{outdir.name}.staging.{os.getpid()}."
        try:
            stage = Path(tempfile.mkdtemp(prefix=prefix, dir=outdir.parent))
        except OSError:
            stage = None
        try:
            # a read-only parent with a writable output folder: stage inside the folder
            stage = stage or Path(tempfile.mkdtemp(prefix=prefix, dir=outdir))
        except OSError as exc:
            raise OutputError(f"{outdir}: cannot create a staging folder beside it "
                              f"({exc.strerror or exc})", str(outdir)) from None
        try:
            yield stage
            _commit(stage, outdir, replaces)
        finally:
            shutil.rmtree(stage, ignore_errors=True)


__all__ = ["atomic_path", "staged_directory", "locked_directory", "clean_stale_staging", "current_umask"]
