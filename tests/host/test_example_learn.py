"""examples/learn_gestures end to end on the unix firmware: train.py trains
and converts with --embedding (fixed seeds, generated data), then main.py
enrolls two gestures the model never saw from five windows each and must
recognise at least 90% of fresh windows of them."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "learn_gestures"


def test_learn_gestures_example(tmp_path):
    mp = Path(os.environ.get("TINYML_MICROPYTHON") or REPO / "build" / "unix" / "micropython")
    if not mp.exists():
        pytest.skip(f"{mp} not built (make firmware BOARD=unix)")
    env = {**os.environ, "PYTHONPATH": str(REPO / "converter")}
    res = subprocess.run([sys.executable, str(EXAMPLE / "train.py"), str(tmp_path)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "float accuracy on the four trained gestures 1.00" in res.stdout
    for f in EXAMPLE.glob("*.py"):
        shutil.copy(f, tmp_path)
    res = subprocess.run([str(mp), "main.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env={**os.environ, "MICROPYPATH": str(REPO / "python_lib")})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "saved and reloaded gestures.bin" in res.stdout
    found = re.search(r"new gestures: (\d+)/(\d+) windows right", res.stdout)
    right, total = int(found.group(1)), int(found.group(2))
    assert total == 30 and right >= 27, res.stdout
    assert re.search(r"^PASS new gestures", res.stdout, re.M)
    assert (tmp_path / "gestures.bin").read_bytes()[:4] == b"TMLL"
