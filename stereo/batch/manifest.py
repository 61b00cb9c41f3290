"""``OUT/manifest.jsonl``: one JSON record per processed pair, and what a rerun must redo.

Written by the driver only, one record at a time (append, flush, fsync), so a killed batch
loses at most the records of the tasks in flight. The last record of a pair wins.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .jobs import input_signature

MANIFEST = "manifest.jsonl"


class Manifest:
    """``OUT/manifest.jsonl``: one JSON record per line, the last one of a pair wins.

    Records are appended, flushed and fsync'ed one by one; a line cut short by a kill is
    ignored when reading (and the next append starts on a new line).
    """

    def __init__(self, out_root: Path):
        self.path = Path(out_root) / MANIFEST
        self._file = None
        self.broken_lines = 0

    def load(self) -> dict:
        latest: dict = {}
        self.broken_lines = 0
        self.lines = 0
        if not self.path.exists():
            return latest
        with open(self.path, "rb") as f:
            for raw in f:
                self.lines += 1
                try:
                    rec = json.loads(raw)
                    latest[rec["pair"]] = rec
                except (ValueError, KeyError, TypeError):
                    self.broken_lines += 1
        return latest

    def compact(self, latest: dict) -> None:
        """Rewrite the file with only the latest record of each pair (atomic replace)."""
        fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for rec in latest.values():
                    f.write(json.dumps(rec, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)

    def append(self, rec: dict) -> None:
        if self._file is None:
            new = not self.path.exists()
            self._file = open(self.path, "ab")
            if not new and self.path.stat().st_size:
                with open(self.path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        self._file.write(b"\n")
            if new:
                _fsync_dir(self.path.parent)
        self._file.write((json.dumps(rec, sort_keys=True) + "\n").encode())
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def outputs_present(out_root: Path, rec: dict) -> bool:
    """The pair's recorded output files exist with their recorded sizes (cheap check)."""
    outs = rec.get("outputs") or {}
    folder = out_root / rec["pair"]
    try:
        return bool(outs) and all((folder / f).stat().st_size == v["bytes"] for f, v in outs.items())
    except OSError:
        return False


def plan(pairs, latest: dict, out_root: Path, key: str, calib, retry_failed: bool):
    """Split pairs into (todo jobs' refs with signatures, skipped done, skipped failed)."""
    todo, skip_done, skip_failed = [], [], []
    for ref in pairs:
        sig = input_signature(ref, calib)
        rec = latest.get(ref.name)
        same = rec is not None and rec.get("key") == key and rec.get("inputs") == sig
        if same and rec.get("status") == "done" and outputs_present(out_root, rec):
            skip_done.append(ref)
        elif same and rec.get("status") == "failed" and not rec.get("lost") and not retry_failed:
            skip_failed.append(ref)
        else:
            todo.append((ref, sig))
    return todo, skip_done, skip_failed


__all__ = ["MANIFEST", "Manifest", "outputs_present", "plan"]
