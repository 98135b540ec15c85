"""`tinyml record`: windows of sensor samples from a board to .npy files.

A script run in the board's raw REPL reads the sensor with
tinyml.sensors (the frozen package: the firmware stays as it is) and prints
one line per window:

    TMLREC <rate> <window> <channels>             once, first
    W <seq> <ticks_us before> <ticks_us after> <base64 of int16 samples>
    END <overflows> <late>                        after the last window

Here each W line becomes data/<label>_<n>.npy, shape (window, channels),
int16, written as .part and then renamed, so a recording cut by Ctrl-C or
a pulled cable leaves only whole windows. The sample rate is worked out
from the board's own clock (the W lines' ticks), which on an emulated
board runs at emulated speed, and compared with the one asked for.

--fake-sensor swaps the peripheral for a simulated one inside the same
script (an MPU6050 register file whose FIFO fills with the board's clock,
an ADC, an I2S microphone): the sensor helper's code runs unchanged, on a
board with nothing wired to it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SENSORS = ("mpu6050", "adc", "i2s")
DEFAULT_RATE = {"mpu6050": 50, "adc": 1000, "i2s": 16000}
DEFAULT_WINDOW = {"mpu6050": 64, "adc": 256, "i2s": 4000}
CHANNELS = {"mpu6050": 3, "adc": 1, "i2s": 1}
RATE_TOLERANCE = 0.05
# MicroPython's ticks_us wraps at 2**30 on boards (the unix port's does
# not): a difference taken modulo that is right on both.
TICKS_PERIOD = 1 << 30


class RecordError(ValueError):
    """A line from the board that is not what the recording script prints."""


@dataclass
class Window:
    seq: int
    t0: int
    t1: int
    samples: np.ndarray       # (window, channels) int16


def parse_header(line: str):
    """(rate, window, channels) from the TMLREC line."""
    parts = line.split()
    if len(parts) != 4 or parts[0] != "TMLREC":
        raise RecordError(f"expected 'TMLREC rate window channels', got {line[:80]!r}")
    try:
        rate, window, channels = float(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        raise RecordError(f"bad TMLREC line {line[:80]!r}") from None
    if rate <= 0 or window <= 0 or channels <= 0:
        raise RecordError(f"bad TMLREC line {line[:80]!r}")
    return rate, window, channels


def parse_window(line: str, window: int, channels: int) -> Window:
    """One W line; RecordError says what is wrong with a damaged one."""
    parts = line.split(" ")
    if len(parts) != 5 or parts[0] != "W":
        raise RecordError(f"not a window line: {line[:60]!r}")
    try:
        seq, t0, t1 = int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        raise RecordError(f"window line with a bad number: {line[:60]!r}") from None
    if seq < 0 or t0 < 0 or t1 < 0:
        raise RecordError(f"window line with a number out of range: {line[:60]!r}")
    try:
        raw = base64.b64decode(parts[4], validate=True)
    except (binascii.Error, ValueError):
        raise RecordError(f"window {seq}: its data is not base64 (a damaged line)") from None
    want = 2 * window * channels
    if len(raw) != want:
        raise RecordError(f"window {seq}: {len(raw)} bytes of data, expected {want} "
                          f"({window} samples x {channels} channels of int16)")
    samples = np.frombuffer(raw, dtype="<i2").astype(np.int16).reshape(window, channels)
    return Window(seq, t0, t1, samples)


def ticks_diff(later: int, earlier: int) -> int:
    return (later - earlier) % TICKS_PERIOD


def measured_rate(windows: list, window: int) -> float | None:
    """Samples per second by the board's clock: from the ends of the first
    and last windows when there are two or more (the gaps between windows
    count, as they do for a sensor that keeps sampling), else from the one
    window's own start and end."""
    if not windows:
        return None
    if len(windows) >= 2:
        first, last = windows[0], windows[-1]
        span = ticks_diff(last.t1, first.t1)
        samples = (last.seq - first.seq) * window
    else:
        span = ticks_diff(windows[0].t1, windows[0].t0)
        samples = window
    return samples * 1e6 / span if span > 0 else None


def next_index(out_dir: Path, label: str) -> int:
    """The first n after every existing <label>_<n>.npy, so a second
    recording of a label adds to the first."""
    pat = re.compile(rf"{re.escape(label)}_(\d+)\.npy$")
    found = [int(m.group(1)) for p in out_dir.iterdir() if (m := pat.match(p.name))]
    return max(found) + 1 if found else 0


def save_window(path: Path, samples: np.ndarray) -> None:
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as f:
        np.save(f, samples)
    part.replace(path)


def check_label(label: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", label):
        raise ValueError(f"--label {label!r}: use letters, digits, '_', '-' or '.', starting with a "
                         "letter or digit (it becomes part of the file names)")


# ---------------------------------------------------------------------------
# the board's side

_FAKES = """
import math
class _FakeBus:
    # An MPU6050's registers on machine.I2C's memory API; the FIFO gains one
    # sample (x, y, z) per period of the board's clock while it is on.
    def __init__(self):
        self.regs = bytearray(128)
        self.regs[0x75] = 0x68
        self.fifo = bytearray()
        self.made = 0
        self.t = None
    def _fill(self):
        if not self.regs[0x6A] & 0x40:
            return
        now = time.ticks_us()
        if self.t is None:
            self.t = now
        rate = 1000 // (self.regs[0x19] + 1)
        due = time.ticks_diff(now, self.t) * rate // 1000000
        while self.made < due and len(self.fifo) < 1020:
            k = self.made
            for v in (int(8000 * math.sin(k / 5)), int(8000 * math.cos(k / 5)), 16384 + k % 7):
                v &= 0xFFFF
                self.fifo += bytes((v >> 8, v & 0xFF))
            self.made += 1
        if self.made < due:  # full: the chip drops samples and flags it
            self.regs[0x3A] |= 0x10
            self.made = due
    def writeto_mem(self, addr, reg, buf):
        for i, b in enumerate(buf):
            self.regs[reg + i] = b
        if reg == 0x6A and buf[0] & 0x04:
            self.fifo = bytearray()
            self.t = None
            self.made = 0
    def readfrom_mem_into(self, addr, reg, buf):
        if reg == 0x74:
            n = len(buf)
            for i in range(n):
                buf[i] = self.fifo[i]
            self.fifo = self.fifo[n:]
            return
        if reg == 0x72:
            self._fill()
            self.regs[0x72] = len(self.fifo) >> 8
            self.regs[0x73] = len(self.fifo) & 0xFF
        for i in range(len(buf)):
            buf[i] = self.regs[reg + i]
        if reg == 0x3A:
            self.regs[0x3A] = 0  # cleared by reading, as on the chip
class _FakeADC:
    def __init__(self):
        self.k = 0
    def read_u16(self):
        self.k += 1
        return 32768 + int(20000 * math.sin(self.k / 9))
class _FakeI2S:
    # Samples arrive at the rate whether or not anyone reads (machine.I2S
    # fills its buffer by DMA): readinto blocks until the asked-for ones are in.
    def __init__(self, rate):
        self.rate = rate
        self.k = 0
        self.due = None
        self.wave = [int(2 ** 28 * math.sin(i * math.pi / 32)) for i in range(64)]
    def readinto(self, buf):
        n = len(buf)
        if self.due is None:
            self.due = time.ticks_us()
        self.due = time.ticks_add(self.due, n * 1000000 // self.rate)
        wait = time.ticks_diff(self.due, time.ticks_us())
        if wait > 0:
            time.sleep_us(wait)
        for i in range(n):
            buf[i] = self.wave[(self.k + i) & 63]
        self.k += n
        return 4 * n
"""

_OPEN = {
    ("mpu6050", False): "from machine import I2C, Pin\n"
                        "src = MPU6050(I2C({bus}, scl=Pin({scl}), sda=Pin({sda})), rate={rate}, range_g={range_g})\n",
    ("mpu6050", True): "src = MPU6050(_FakeBus(), rate={rate}, range_g={range_g})\n",
    ("adc", False): "from machine import ADC\nsrc = ADCSampler(ADC({pin}), rate={rate})\n",
    ("adc", True): "src = ADCSampler(_FakeADC(), rate={rate})\n",
    ("i2s", False): "from machine import I2S, Pin\n"
                    "src = I2SMic(I2S({bus}, sck=Pin({sck}), ws=Pin({ws}), sd=Pin({sd}), mode=I2S.RX, "
                    "bits=32, format=I2S.MONO, rate={rate}, ibuf=8000), bits=32)\n",
    ("i2s", True): "src = I2SMic(_FakeI2S({rate}), bits=32)\n",
}

_READ = {
    "mpu6050": ("rate = src.rate\nsrc.start_fifo()\n",
                "    got = 0\n"
                "    while got < {window}:\n"
                "        k = src.read_fifo(view[3 * got:])\n"
                "        got += k\n"
                "        if k == 0:\n"
                "            time.sleep_ms(5)\n"),
    "adc": ("rate = src.rate\n", "    src.read(buf)\n"),
    "i2s": ("rate = {rate}\n", "    src.readinto(buf)\n"),
}


def board_script(sensor: str, *, rate: int, window: int, windows: int, fake: bool = False,
                 bus: int = 0, scl: int = 1, sda: int = 0, range_g: int = 2, pin: int = 26,
                 sck: int = 16, ws: int = 17, sd: int = 18) -> str:
    channels = CHANNELS[sensor]
    setup, read = _READ[sensor]
    fmt = dict(rate=rate, window=window, bus=bus, scl=scl, sda=sda, range_g=range_g, pin=pin, sck=sck,
               ws=ws, sd=sd)
    return ("import time, binascii\nfrom array import array\n"
            "from tinyml.sensors import MPU6050, ADCSampler, I2SMic\n"
            + (_FAKES if fake else "")
            + _OPEN[(sensor, fake)].format(**fmt)
            + f"buf = array('h', bytes({2 * window * channels}))\nview = memoryview(buf)\n"
            + setup.format(**fmt)
            + f"print('TMLREC', rate, {window}, {channels})\n"
            + f"for n in range({windows}):\n"
            + "    t0 = time.ticks_us()\n"
            + read.format(**fmt)
            + "    t1 = time.ticks_us()\n"
            + "    print('W', n, t0, t1, binascii.b2a_base64(buf).decode().strip())\n"
            + "print('END', getattr(src, 'overflows', 0), getattr(src, 'late', 0))\n")


# ---------------------------------------------------------------------------
# the PC's side

@dataclass
class Recording:
    written: list = field(default_factory=list)    # paths, in order
    windows: list = field(default_factory=list)    # Window, as received (data dropped once saved)
    skipped: list = field(default_factory=list)    # why each damaged line was dropped
    rate: float | None = None                      # the rate the board says it samples at
    measured: float | None = None                  # the rate its clock says it delivered
    overflows: int = 0
    late: int = 0
    ended: bool = False

    def warnings(self, requested: float) -> list:
        out = []
        if self.skipped:
            out.append(f"{len(self.skipped)} damaged line(s) from the board were skipped "
                       f"(first: {self.skipped[0]})")
        seqs = [w.seq for w in self.windows]
        lost = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs)) if seqs else []
        if lost:
            out.append(f"{len(lost)} window(s) lost on the way (sequence numbers {lost[:5]}...)")
        if self.overflows:
            out.append(f"the sensor's FIFO overflowed {self.overflows} time(s): samples are missing "
                       "inside windows (a lower rate, or a shorter window, helps)")
        if self.late:
            out.append(f"{self.late} sample(s) were taken late: the board cannot keep up with the rate")
        for what, r in (("the sensor runs at", self.rate), ("the board's clock measured", self.measured)):
            if r and abs(r / requested - 1) > RATE_TOLERANCE:
                out.append(f"{what} {r:.1f} Hz, not the {requested:g} Hz asked for "
                           f"({100 * (r / requested - 1):+.0f}%): train and run with the rate you "
                           "actually recorded at")
        return out


def record(board, sensor: str, label: str, out_dir, *, seconds: float, rate: int | None = None,
           window: int | None = None, fake: bool = False, progress=None, timeout: float | None = None,
           **pins) -> Recording:
    """Record round(seconds * rate / window) windows (at least one) of
    `sensor` on `board` (board.Board) into out_dir/<label>_<n>.npy.
    progress(done, total) after each window written. Returns the
    Recording; on KeyboardInterrupt the board is stopped and the windows
    written so far stay, and the exception goes on with `.recording` set."""
    check_label(label)
    if sensor not in SENSORS:
        raise ValueError(f"--sensor {sensor!r}: one of {', '.join(SENSORS)}")
    rate = rate or DEFAULT_RATE[sensor]
    window = window or DEFAULT_WINDOW[sensor]
    if seconds <= 0 or rate <= 0 or window <= 0:
        raise ValueError("--seconds, --rate and --window must be positive")
    total = max(1, round(seconds * rate / window))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = next_index(out_dir, label)
    rec = Recording()
    shape = {}

    def on_line(line):
        if not line.strip():
            return
        if line.startswith("TMLREC"):
            rec.rate, shape["window"], shape["channels"] = parse_header(line)
            if shape["window"] != window:
                raise RecordError(f"the board records {shape['window']}-sample windows, not {window}")
            return
        if line.startswith("END"):
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                rec.overflows, rec.late = int(parts[1]), int(parts[2])
            rec.ended = True
            return
        if not shape:
            return  # the board's own chatter before the recording starts
        try:
            w = parse_window(line, shape["window"], shape["channels"])
        except RecordError as exc:
            rec.skipped.append(str(exc))
            return
        path = out_dir / f"{label}_{start + len(rec.written)}.npy"
        save_window(path, w.samples)
        rec.written.append(path)
        w.samples = None
        rec.windows.append(w)
        if progress:
            progress(len(rec.written), total)

    script = board_script(sensor, rate=rate, window=window, windows=total, fake=fake, **pins)
    if timeout is None:
        timeout = 10 + 20 * window / rate
    try:
        board.stream(script, on_line, timeout=timeout)
    except KeyboardInterrupt as exc:
        board.interrupt()
        rec.measured = measured_rate(rec.windows, window)
        exc.recording = rec
        raise
    rec.measured = measured_rate(rec.windows, window)
    if not shape:
        raise RecordError("the board printed no TMLREC line: the recording script did not start")
    return rec
