"""The same model gives the same blob: twice in a row, and with a clock that
runs a thousand times slower than the work (as on a loaded or slow machine),
for every model of tests/models.py. The planner's search is bounded by work,
not by time; a time budget would stop it at different points here."""

import time

import pytest

pytest.importorskip("tensorflow")
from test_parity_models import _tflite, models  # noqa: E402 - the same cached .tflite files
from tinyml_converter.convert import convert_tflite  # noqa: E402


class SlowClock:
    """Every reading is 1000 s after the previous one."""

    def __init__(self):
        self.now = time.monotonic()

    def __call__(self):
        self.now += 1000.0
        return self.now


@pytest.mark.parametrize("name", list(models.MODELS))
def test_same_blob_twice_and_on_a_slow_clock(name, monkeypatch):
    tfl = _tflite(name)
    first, report = convert_tflite(tfl, name=name)
    assert convert_tflite(tfl, name=name)[0] == first
    for clock in ("monotonic", "perf_counter", "time", "process_time"):
        monkeypatch.setattr(time, clock, SlowClock())
    slow, slow_report = convert_tflite(tfl, name=name)
    assert slow == first, f"{name}: {report.arena_size} B arena normally, {slow_report.arena_size} B slowed"

