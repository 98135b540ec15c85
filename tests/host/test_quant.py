"""One quantiser, TFLite's rounding: halves away from zero, the quotient in
float32. Expected values are worked by hand; the firmware's quantize() is
held to the same values by tests/mpy/tinyml_quantize_ties.py, and here
through `tinyml run --target unix`, so `run` and `predict()` agree on ties."""

import subprocess

import numpy as np
import pytest
from blobkit import BlobBuilder
from conftest import REPO

from tinyml_converter import cli
from tinyml_converter.quant import dequantize, quantize

SCALE_0_1 = float(np.float32(0.1))  # 0.10000000149011612, as a model stores it
TIES = [0.25, -0.25, 0.75, -0.75, 1.25, -1.25]
UNIX = REPO / "build" / "unix" / "micropython"


def test_ties_round_away_from_zero():
    assert quantize(TIES, 0.5, 0).tolist() == [1, -1, 2, -2, 3, -3]
    assert quantize([0.25, -0.25, 1.25, -1.25], 0.5, 10).tolist() == [11, 9, 13, 7]


def test_quotient_in_float32():
    # 0.25 / 0.10000000149011612 is 2.4999999627 in double, 2.5 in float32.
    assert quantize([0.25, -0.25], SCALE_0_1, 0).tolist() == [3, -3]


def test_saturates_and_refuses_non_finite():
    assert quantize([1e30, -1e30, 63.75, -64.25], 0.5, 0).tolist() == [127, -128, 127, -128]
    assert quantize([1e30], 1.0, 0, dtype="int16").tolist() == [32767]
    with pytest.raises(ValueError, match="not finite"):
        quantize([0.0, float("nan")], 0.5, 0)


def test_dequantize_is_exact_product():
    q = np.arange(-128, 128, dtype=np.int8)
    got = dequantize(q, SCALE_0_1, -3)
    want = np.array([np.float32((int(v) + 3) * SCALE_0_1) for v in q], dtype=np.float32)
    assert got.dtype == np.float32 and np.array_equal(got, want)


# (scale, float inputs, TFLite's int8 for them), worked by hand above.
CASES = [(0.5, TIES, [1, -1, 2, -2, 3, -3]), (SCALE_0_1, [0.25, -0.25], [3, -3])]


def identity_blob(scale, n):
    b = BlobBuilder()
    t_in = b.tensor((1, n), scale=scale)
    t_out = b.tensor((1, n), scale=scale)
    b.op("LUT", [t_in], [t_out], table=b.const(bytes((i - 128) & 0xFF for i in range(256)), 4))
    b.inputs, b.outputs = [t_in], [t_out]
    return b.build()


@pytest.mark.parametrize("scale,values,expected", CASES)
@pytest.mark.parametrize("target", ["host", "unix"])
def test_run_quantises_float_input_like_tflite(tmp_path, target, scale, values, expected):
    if target == "unix" and not UNIX.exists():
        pytest.skip("make firmware BOARD=unix first")
    model = tmp_path / "identity.tinyml"
    model.write_bytes(identity_blob(scale, len(values)))
    np.save(tmp_path / "x.npy", np.array([values], dtype=np.float32))
    assert cli.main(["run", str(model), "--input", str(tmp_path / "x.npy"), "--target", target,
                     "--output", str(tmp_path / "y.npy")]) == 0
    assert np.load(tmp_path / "y.npy").reshape(-1).tolist() == expected


@pytest.mark.parametrize("scale,values,expected", CASES)
def test_predict_on_unix_agrees_with_run(tmp_path, scale, values, expected):
    if not UNIX.exists():
        pytest.skip("make firmware BOARD=unix first")
    model = tmp_path / "identity.tinyml"
    model.write_bytes(identity_blob(scale, len(values)))
    script = tmp_path / "p.py"
    script.write_text("import tinyml\n"
                      f"m = tinyml.load({str(model)!r})\n"
                      f"print([round(v / {scale!r}) for v in m.predict({values!r})])\n")
    out = subprocess.run([str(UNIX), str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(expected)


@pytest.mark.parametrize("seed", range(6))
def test_sum_steps_equal_the_float_formula_on_every_sum(seed):
    """The SUM step table (what the kernel searches) against TFLite's float32
    formula evaluated on every raw sum a SUM of `count` values can have."""
    from tinyml_converter.quant import _sum_output, sum_steps

    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 40))
    in_scale, out_scale = (float(np.float32(v)) for v in rng.uniform(0.005, 0.2, 2))
    in_zp, out_zp = (int(v) for v in rng.integers(-128, 128, 2))
    steps = np.array(sum_steps(in_scale, in_zp, out_scale, out_zp, count))
    assert len(steps) == 255 and np.all(np.diff(steps) >= 0)
    sums = np.arange(-128 * count, 127 * count + 1)
    via_steps = -128 + np.searchsorted(steps, sums, side="right")
    assert np.array_equal(via_steps, _sum_output(sums, in_scale, in_zp, out_scale, out_zp, count))
