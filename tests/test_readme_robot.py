"""The README's robot-node example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from stereo.paths import PROJECT_ROOT, chessboard_dir


def _example() -> str:
    text = (PROJECT_ROOT / "README.md").read_text()
    m = re.search(r"<!-- robot-node -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README lost its robot-node example"
    return m.group(1)


def test_robot_node_example_runs(shared_report, tmp_path):
    script = tmp_path / "robot_node.py"
    script.write_text(_example())
    rig = tmp_path / "rig.yaml"
    shared_report.rig.save(rig)
    root = chessboard_dir()
    proc = subprocess.run([sys.executable, str(script), str(rig), str(root / "left00000[23].jpg"),
                           str(root / "right00000[23].jpg")], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path, env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("searched disparities")
    hits = [l for l in lines if "nearest obstacle ahead" in l]
    assert [h.split(":")[0] for h in hits] == ["left000002", "left000003"]
    # the board of these pairs is 0.54-0.65 m away, in the middle of the view
    nearest = [float(re.search(r"ahead ([0-9.]+) m", h).group(1)) for h in hits]
    assert all(0.4 < z < 0.7 for z in nearest), hits
