"""Make sure Numba can cache our kernels before any ``@njit(cache=True)`` is decorated.

Numba raises ``RuntimeError: cannot cache function ...: no locator available`` at
decoration time (so at ``import stereo``) when none of its cache locations is writable:
``$NUMBA_CACHE_DIR`` unset, the package's ``__pycache__`` read-only (a system-wide or
container install) and no usable home (a service account with ``HOME=/nonexistent``).
:func:`ensure_numba_cache` probes the same locators Numba will try, for each folder that
holds cached kernels, and when none works points Numba at a private temporary folder
(one warning; compiled kernels then last as long as that folder).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# Folders whose modules hold @njit(cache=True) kernels (the in-tree locator is per folder).
_KERNEL_DIRS = (_PACKAGE / "kernels", _PACKAGE / "postprocess")
_done = False


def _probe():  # a stand-in function: locators only read its first line number
    pass


def _locatable(folder: Path) -> bool:
    """True when one of Numba's default locators can cache a kernel of ``folder``."""
    from numba.core import caching

    source = str(folder / "__init__.py")
    if not os.path.exists(source):
        return True  # nothing of ours there; Numba will not be asked
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
    for cls in impl._locator_classes:
        try:
            if cls.from_function(_probe, source) is not None:
                return True
        except Exception:  # a locator that breaks is as good as no locator
            continue
    return False


def ensure_numba_cache() -> str | None:
    """Fall back to a temporary cache folder when Numba has no writable cache location.

    Returns the folder used as ``NUMBA_CACHE_DIR`` when a fallback was needed, else None.
    Never raises: at worst the kernels compile on every run.
    """
    global _done
    if _done:
        return None
    _done = True
    try:
        from numba.core import config
        if os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES"):
            return None  # the user chose their own locators
        if all(_locatable(d) for d in _KERNEL_DIRS):
            return None
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        base = Path(tempfile.gettempdir()) / f"stereodepth-numba-{uid}"
        try:
            base.mkdir(mode=0o700, exist_ok=True)
            st = os.lstat(base)
            if base.is_symlink() or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
                raise OSError("not ours")  # someone else's folder in a shared /tmp: do not trust it
            probe = tempfile.TemporaryFile(dir=base)
            probe.close()
            folder = str(base)
        except OSError:
            folder = tempfile.mkdtemp(prefix="stereodepth-numba-")
        os.environ["NUMBA_CACHE_DIR"] = folder
        config.CACHE_DIR = folder
        warnings.warn(f"stereodepth: no writable Numba cache location (package folder read-only, "
                      f"no usable home, NUMBA_CACHE_DIR unset); caching compiled kernels in "
                      f"{folder}. Set NUMBA_CACHE_DIR to a writable folder to keep them.",
                      RuntimeWarning, stacklevel=3)
        return folder
    except Exception:  # never let the probe itself break the import
        return None
