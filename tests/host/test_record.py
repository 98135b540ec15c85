"""tinyml record: parsing the board's lines (damaged ones included), the
files written, Ctrl-C, the rate check; and the board script itself on the
unix firmware with a fake sensor (its lines parsed as the PC parses them).
tests/rp2/test_record_pty.py runs it on the emulated Pico over its pty."""

import base64
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyml_converter import cli
from tinyml_converter import record as R

REPO = Path(__file__).resolve().parents[2]


def w_line(seq, t0, t1, samples):
    return f"W {seq} {t0} {t1} " + base64.b64encode(np.asarray(samples, "<i2").tobytes()).decode()


def test_parse_window_roundtrip_and_every_damage():
    rng = np.random.default_rng(0)
    s = rng.integers(-32768, 32768, (8, 3), dtype=np.int16)
    w = R.parse_window(w_line(4, 100, 2000, s), 8, 3)
    assert (w.seq, w.t0, w.t1) == (4, 100, 2000)
    assert w.samples.dtype == np.int16 and np.array_equal(w.samples, s)
    good = w_line(4, 100, 2000, s)
    damaged = {
        good[:len(good) // 2]: "not base64|bytes of data, expected 48",   # cut short
        good[:-1]: "not base64",                                    # cut by one character
        good.replace("W 4", "W x"): "bad number",
        good.replace(" 100 ", " -5 "): "out of range",
        good[:20] + "!" + good[21:]: "not base64",
        "W 4 100 2000": "not a window line",
        "X" + good[1:]: "not a window line",
        good + " extra": "not a window line",
        w_line(4, 1, 2, s[:7]): "42 bytes of data, expected 48",
    }
    for line, why in damaged.items():
        with pytest.raises(R.RecordError, match=why):
            R.parse_window(line, 8, 3)
    # flipping any one character of the payload is caught or decodes to the same length
    payload_start = good.rindex(" ") + 1
    for i in range(payload_start, len(good), 7):
        bad = good[:i] + ("A" if good[i] != "A" else "B") + good[i + 1:]
        try:
            got = R.parse_window(bad, 8, 3)
        except R.RecordError:
            continue
        assert got.samples.shape == (8, 3)


def test_parse_header():
    assert R.parse_header("TMLREC 50 64 3") == (50.0, 64, 3)
    for bad in ("TMLREC 50 64", "TMLREC x 64 3", "TMLREC 0 64 3", "HELLO 1 2 3"):
        with pytest.raises(R.RecordError):
            R.parse_header(bad)


def test_measured_rate_across_a_ticks_wrap():
    period = 1 << 30
    ws = [R.Window(n, 0, (period - 100_000 + n * 160_000) % period, None) for n in range(4)]
    assert R.measured_rate(ws, 8) == pytest.approx(8 / 0.16)
    assert R.measured_rate([R.Window(0, period - 50, 150, None)], 10) == pytest.approx(10 / 200e-6)
    assert R.measured_rate([], 8) is None


class FakeBoard:
    """Board.stream's contract: feeds the lines a board would print."""

    def __init__(self, lines):
        self.lines = lines
        self.interrupted = False
        self.script = None

    def stream(self, code, on_line, timeout=10):
        compile(code, "board", "exec")  # the script is at least valid Python
        self.script = code
        for line in self.lines:
            on_line(line)

    def interrupt(self):
        self.interrupted = True


def windows(n, window=8, channels=3, rate=50, seed=1, start=0):
    rng = np.random.default_rng(seed)
    period_us = int(window * 1e6 / rate)
    data = [rng.integers(-2000, 2000, (window, channels), dtype=np.int16) for _ in range(n)]
    lines = [w_line(k, start + k * period_us, start + (k + 1) * period_us, d) for k, d in enumerate(data)]
    return data, lines


def test_record_writes_one_file_per_window_and_skips_damage(tmp_path):
    data, lines = windows(5)
    noisy = ["MPY: soft reboot", "TMLREC 50 8 3", lines[0], lines[1][:30], lines[2], "garbage",
             lines[3], lines[4], "END 0 0"]
    (tmp_path / "shake_3.npy").write_bytes(b"")   # an earlier recording: numbering goes on after it
    board = FakeBoard(noisy)
    seen = []
    rec = R.record(board, "mpu6050", "shake", tmp_path, seconds=0.8, rate=50, window=8,
                   progress=lambda d, t: seen.append((d, t)))
    names = [p.name for p in rec.written]
    assert names == ["shake_4.npy", "shake_5.npy", "shake_6.npy", "shake_7.npy"]
    for path, want in zip(rec.written, [data[0], data[2], data[3], data[4]]):
        got = np.load(path)
        assert got.dtype == np.int16 and got.shape == (8, 3) and np.array_equal(got, want)
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5)]
    assert not list(tmp_path.glob("*.part"))
    assert rec.measured == pytest.approx(50)
    warnings = rec.warnings(50)
    assert any("1 window(s) lost" in w for w in warnings)
    assert any("2 damaged line(s)" in w for w in warnings)
    assert len(rec.skipped) == 2 and "window 1" in rec.skipped[0] and "garbage" in rec.skipped[1]
    assert "range(5)" in board.script and "MPU6050(I2C(0, scl=Pin(1), sda=Pin(0)), rate=50" in board.script


def test_rate_off_by_more_than_5_percent_is_said(tmp_path):
    _, lines = windows(4, rate=45)  # delivered at 45 Hz
    rec = R.record(FakeBoard(["TMLREC 50 8 3", *lines, "END 2 0"]), "mpu6050", "tap", tmp_path,
                   seconds=0.64, rate=50, window=8)
    text = " ".join(rec.warnings(50))
    assert "measured 45.0 Hz, not the 50 Hz asked for (-10%)" in text
    assert "FIFO overflowed 2 time(s)" in text
    _, lines = windows(4, rate=48.5)   # 3% off: fine
    rec = R.record(FakeBoard(["TMLREC 50 8 3", *lines, "END 0 0"]), "mpu6050", "tap", tmp_path,
                   seconds=0.64, rate=50, window=8)
    assert rec.warnings(50) == []


class Interrupting(FakeBoard):
    def stream(self, code, on_line, timeout=10):
        for k, line in enumerate(self.lines):
            on_line(line)
            if k == 3:
                raise KeyboardInterrupt


def test_ctrl_c_keeps_the_whole_windows(tmp_path):
    _, lines = windows(6)
    board = Interrupting(["TMLREC 50 8 3", *lines])
    with pytest.raises(KeyboardInterrupt) as info:
        R.record(board, "mpu6050", "wave", tmp_path, seconds=1, rate=50, window=8)
    assert board.interrupted
    assert [p.name for p in info.value.recording.written] == ["wave_0.npy", "wave_1.npy", "wave_2.npy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wave_0.npy", "wave_1.npy", "wave_2.npy"]


def test_cli_record_with_a_fake_board(tmp_path, monkeypatch, capsys):
    import tinyml_converter.board as board_mod

    _, lines = windows(3, window=16, channels=1, rate=1000)
    made = []

    class Opened(FakeBoard):
        def __init__(self, port, **kw):
            super().__init__(["TMLREC 1000 16 1", *lines, "END 0 0"])
            made.append(port)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    monkeypatch.setattr(board_mod, "Board", Opened)
    out = tmp_path / "data"
    assert cli.main(["record", "--port", "/dev/fake", "--sensor", "adc", "--label", "hum", "--seconds",
                     "0.048", "--window", "16", "--rate", "1000", "-o", str(out), "--no-progress"]) == 0
    assert made == ["/dev/fake"]
    assert "wrote 3 window(s)" in capsys.readouterr().out
    assert np.load(out / "hum_2.npy").shape == (16, 1)
    assert cli.main(["record", "--port", "/dev/fake", "--sensor", "adc", "--label", "../x", "-o",
                     str(out)]) == 2
    assert "--label '../x'" in capsys.readouterr().err
    assert cli.main(["record", "--port", "/dev/fake", "--sensor", "mpu6050", "--label", "a", "--i2c", "1,2",
                     "-o", str(out)]) == 2


@pytest.mark.parametrize("sensor,rate,window", [("mpu6050", 100, 10), ("adc", 500, 25), ("i2s", 4000, 200)])
def test_board_script_on_the_unix_firmware(sensor, rate, window, tmp_path):
    """The script tinyml record sends, with the fake sensor, run by the unix
    port (no pty: its output is fed to the same line handler)."""
    mp = Path(os.environ.get("TINYML_MICROPYTHON") or REPO / "build" / "unix" / "micropython")
    if not mp.exists():
        pytest.skip(f"{mp} not built (make firmware BOARD=unix)")
    script = tmp_path / "rec.py"
    script.write_text(R.board_script(sensor, rate=rate, window=window, windows=4, fake=True))
    res = subprocess.run([str(mp), str(script)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "MICROPYPATH": str(REPO / "python_lib")})
    assert res.returncode == 0, res.stderr
    rec = R.record(FakeBoard(res.stdout.splitlines()), sensor, "x", tmp_path / "out", seconds=4 * window / rate,
                   rate=rate, window=window)
    assert len(rec.written) == 4 and rec.ended and not rec.skipped
    arrays = [np.load(p) for p in rec.written]
    assert all(a.shape == (window, R.CHANNELS[sensor]) and a.dtype == np.int16 for a in arrays)
    got = np.concatenate(arrays).astype(np.int64)
    k = np.arange(len(got))
    # The fake sensors' signals, worked out here as the script defines them.
    if sensor == "mpu6050":
        want = np.stack([np.trunc(8000 * np.sin(k / 5)), np.trunc(8000 * np.cos(k / 5)), 16384 + k % 7], 1)
    elif sensor == "adc":
        want = np.trunc(20000 * np.sin((k + 1) / 9))[:, None]
    else:
        wave = np.trunc(2 ** 28 * np.sin(np.arange(64) * np.pi / 32)).astype(np.int64)
        want = (wave[k & 63] >> 16)[:, None]
    assert np.array_equal(got, want)
    # The unix port keeps time with the host's clock: on a loaded machine
    # (make test runs two workers) samples can come late and the measured
    # rate drift. Those two warnings say so truthfully; nothing else may warn.
    timing = ("taken late", " Hz, not the ")
    others = [w for w in rec.warnings(rate) if not any(t in w for t in timing)]
    assert others == [], others
