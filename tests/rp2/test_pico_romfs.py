"""Models in the Pico's ROMFS, on our UF2 in an emulated RP2040 (rp2040py):
two MLPerf Tiny models (bench/models.py) whose blobs a Pico could not hold
in its heap next to their arenas, run in place from ROMFS through
`tinyml run --target rpi_pico`, bit for bit as TFLite's reference kernels
run them, while the board's heap holds little more than their arenas.

- vww_mobilenet (MobileNetV1 0.25, 96x96x3): read from a file it would need
  more RAM than the Pico has, so `tinyml run` puts it in ROMFS by itself.
- resnet8_cifar (ResNet-8, 32x32x3): it would fit read from a file (blob
  and arena together), so --rom asks for ROMFS.

Quantised .tflite files are cached in build/test-cache as tests/host/parity.py
keys them, the same files as tests/host/test_romfs_models.py's (which runs
these models on qemu_m0). Run by `make test` (mk/rp2.mk) after the UF2 is
built.
"""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "converter"), str(ROOT / "tests" / "host")]

from tinyml_converter import cli  # noqa: E402

UF2 = ROOT / "build" / "rpi_pico" / "firmware.uf2"
pytestmark = pytest.mark.skipif(not UF2.exists(), reason="make firmware BOARD=rpi_pico first")

# What the board's heap may hold for a model in place besides its arena:
# its tensor and op tables and the Model object.
RAM_BEYOND_ARENA = 4096


@pytest.mark.parametrize("name, run_args", [("vww_mobilenet", []), ("resnet8_cifar", ["--rom"])])
def test_mlperf_model_runs_in_place_from_romfs_as_tflite_does(name, run_args, tmp_path, capsys):
    pytest.importorskip("tensorflow")
    import parity
    from tinyml_converter import convert

    models = parity.bench_models()
    tflite = parity.bench_tflite(name)
    blob, report = convert.convert_tflite(tflite, name=name)
    model = tmp_path / f"{name}.tinyml"
    model.write_bytes(blob)

    assert cli.main(["check", str(model), "--board", "rpi_pico"]) == 0
    assert "rpi_pico: fits, in place from ROMFS" in capsys.readouterr().out

    # A realistic input: a sample of the calibration distribution, other
    # than the calibration samples, quantised with the model's input scale.
    oracle = parity.Oracle(tflite)
    shape = oracle.input_shapes[0]
    x = oracle.quantize_input(0, models._calib(shape[1:], n=1, seed=5)).reshape(shape)
    (expected,) = oracle.run([x])
    assert np.unique(expected).size > 1, "TFLite's output is one value throughout: it tests nothing"
    np.save(tmp_path / "x.npy", x)

    assert cli.main(["run", str(model), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"),
                     "--target", "rpi_pico", "--ram", *run_args]) == 0
    said = capsys.readouterr().out

    assert np.array_equal(np.load(tmp_path / "y.npy").reshape(expected.shape), expected)
    assert f"it ran in place from /rom/{name}.tinyml" in said, said
    ram = int(re.search(r"board RAM taken by the model: (\d+) bytes", said).group(1))
    assert ram <= report.arena_size + RAM_BEYOND_ARENA, \
        f"the model took {ram} bytes of heap, its arena is {report.arena_size}"
