"""tests/mpy/tinyml_features.py.exp is what the NumPy mirror computes for the
script's frames, so the board run (scripts/mpytest.py, every firmware)
compares board features with PC features exactly. This test rebuilds the
expected text from NumPy and checks the committed file still matches it;
TINYML_REGEN=1 rewrites it."""

import os
from pathlib import Path

import numpy as np

from tinyml_converter.features import AudioFeatures

EXP = Path(__file__).resolve().parents[1] / "mpy" / "tinyml_features.py.exp"


def _frames(n):
    x, noise = 1, []
    for _ in range(n):
        x = (x * 75 + 74) % 65537
        noise.append(min(x - 32768, 32767))
    square = [32767 if (i // 8) % 2 else -32768 for i in range(n)]
    tri = [(i % 32) * 20 - 320 for i in range(n)]
    return np.array([noise, square, tri], dtype=np.int16)


def expected_text():
    fe = AudioFeatures(256, 8000, n_mels=20, n_mfcc=10)
    lines = []
    fr = _frames(256)
    for k in range(3):
        lines.append(f"frame {k}")
        lines.append(f"mag {fe.magnitude(fr[k]).tolist()}")
        lines.append(f"logmel {fe.log_mel(fr[k]).tolist()}")
        lines.append(f"mfcc {fe.mfcc(fr[k]).tolist()}")
    fe2 = AudioFeatures(64, 16000, n_mels=8, fmin=300, fmax=6000, n_mfcc=4)
    lines.append(f"small {fe2.mfcc(_frames(64)[0]).tolist()}")
    lines += [
        "ValueError tinyml: fft_size must be a power of two from 16 to 1024, got 100",
        "ValueError tinyml: sample_rate must be 1..64000 Hz, got 0",
        "ValueError tinyml: need 0 <= n_mfcc <= n_mels <= 254, got n_mels=300 n_mfcc=0",
        "ValueError tinyml: a frame is array('h') of 256 samples; got 20 bytes, typecode 'h'",
        "ValueError tinyml: this AudioFeatures was made with n_mfcc=0: pass n_mfcc to the constructor",
    ]
    return "\n".join(lines) + "\n"


def test_board_expectation_is_numpy_output():
    want = expected_text()
    if os.environ.get("TINYML_REGEN"):
        EXP.write_text(want)
    assert EXP.read_text() == want, "tinyml_features.py.exp is stale: rerun with TINYML_REGEN=1"
