"""Models bigger than a small board's heap, run from ROMFS in place: the
MobileNetV1-0.25 96x96 of MLPerf Tiny's visual wake words and its CIFAR-10
ResNet-8 (bench/models.py) pass `tinyml check --board rpi_pico`, and on the
emulated Cortex-M0 (qemu_m0) `tinyml run` maps them from a ROMFS image,
gives TFLite's reference-kernel bytes, and takes no more heap than the arena
and 4 KB. (tests/rp2/ runs them on the emulated RP2040.)"""

import re

import numpy as np
import pytest

import parity
from conftest import REPO

pytest.importorskip("tensorflow")
from tinyml_converter import cli  # noqa: E402
from tinyml_converter.convert import convert_tflite  # noqa: E402

FIRMWARE = REPO / "build" / "qemu_m0" / "firmware.elf"
SMALL_CONSTANT = 4096


@pytest.fixture(scope="module", params=["vww_mobilenet", "resnet8_cifar"])
def model(request, tmp_path_factory):
    tfl = parity.bench_tflite(request.param)
    blob, _ = convert_tflite(tfl, name=request.param)
    path = tmp_path_factory.mktemp(request.param) / f"{request.param}.tinyml"
    path.write_bytes(blob)
    return request.param, tfl, path


def test_fits_the_pico_in_place(model, capsys):
    name, _, path = model
    assert cli.main(["check", str(path), "--board", "rpi_pico"]) == 0
    out = capsys.readouterr().out
    assert "rpi_pico: fits, in place from ROMFS" in out
    heap = int(re.search(r"\*rpi_pico +\d+ +\d+ +(\d+)", out).group(1))
    assert path.stat().st_size > heap or name != "vww_mobilenet"  # read into RAM it would not fit


@pytest.mark.skipif(not FIRMWARE.exists(), reason="make firmware BOARD=qemu_m0 first")
def test_runs_in_place_on_qemu_m0(model, tmp_path, capsys):
    name, tfl, path = model
    oracle = parity.Oracle(tfl)
    (shape,) = oracle.input_shapes
    x = np.random.default_rng(3).integers(-128, 128, size=shape, dtype=np.int8)
    (want,) = oracle.run([x])
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    assert cli.main(["run", str(path), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"),
                     "--target", "qemu_m0", "--ram"]) == 0
    printed = capsys.readouterr().out
    assert np.array_equal(np.load(tmp_path / "y.npy").reshape(-1), want.reshape(-1)), name
    ram, arena = map(int, re.search(r"RAM taken by the model: (\d+) bytes \(arena (\d+)\)", printed).groups())
    assert ram <= arena + SMALL_CONSTANT, f"{name}: {ram} bytes of heap for a {arena} byte arena"
