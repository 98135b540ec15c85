"""`tinyml record` against our UF2 in an emulated RP2040 (rp2040py), over
its USB serial pty, with --fake-sensor: the frozen tinyml.sensors code
reads a simulated MPU6050 whose FIFO fills with the emulated clock. The
emulator runs far slower than wall-clock time (sleep(3) takes minutes), so
only half an emulated second is recorded."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "converter")]

from tinyml_converter import cli, record  # noqa: E402
from tinyml_converter.artifacts import firmware_path  # noqa: E402
from tinyml_converter.board import Board  # noqa: E402
from tinyml_converter.errors import MissingTool  # noqa: E402

try:
    UF2 = firmware_path("rpi_pico")
except MissingTool:
    UF2 = ROOT / "build" / "rpi_pico" / "firmware.uf2"
pytestmark = pytest.mark.skipif(not UF2.exists(), reason="make firmware BOARD=rpi_pico first")


def test_record_mpu6050_on_the_emulated_pico(tmp_path, capsys):
    out = tmp_path / "data"
    with cli.emulated_pico(UF2) as port:
        assert cli.main(["record", "--port", port, "--sensor", "mpu6050", "--label", "shake", "--seconds",
                         "0.48", "--rate", "50", "--window", "8", "--fake-sensor", "-o", str(out),
                         "--no-progress"]) == 0
        captured = capsys.readouterr()
        # Ctrl-C partway: the whole windows stay, and the board answers again.
        with Board(port) as board:
            def stop_after_two(done, total):
                if done == 2:
                    raise KeyboardInterrupt

            with pytest.raises(KeyboardInterrupt):
                record.record(board, "mpu6050", "tap", out, seconds=2, rate=50, window=8, fake=True,
                              progress=stop_after_two, timeout=120)
            assert board.exec("print(6 * 7)").strip() == "42"
    assert "wrote 3 window(s)" in captured.out and "WARNING" not in captured.err, captured.err
    files = sorted(out.glob("shake_*.npy"))
    assert [f.name for f in files] == ["shake_0.npy", "shake_1.npy", "shake_2.npy"]
    got = np.concatenate([np.load(f) for f in files]).astype(np.int64)
    assert got.shape == (24, 3)
    k = np.arange(24)  # the fake sensor's signal, as the script defines it
    want = np.stack([np.trunc(8000 * np.sin(k / 5)), np.trunc(8000 * np.cos(k / 5)), 16384 + k % 7], 1)
    assert np.array_equal(got, want)
    rate = float(captured.out.split("Hz by")[0].rsplit(",", 1)[1])
    assert abs(rate / 50 - 1) <= 0.05
    assert sorted(p.name for p in out.glob("tap_*")) == ["tap_0.npy", "tap_1.npy"]
