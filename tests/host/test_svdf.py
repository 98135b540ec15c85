"""SVDF: TFLite's fully integer kernel (int8 in and out, int16 time weights
and state), bit for bit against BUILTIN_REF.

TensorFlow's converter does not emit SVDF from Keras, so the models are
written directly (tflite_build.py): generated shapes, ranks, memory lengths,
batches, with and without bias, and scales of several magnitudes. TFLite's
own Prepare checks each file and its kernel gives the expected bytes. The
state (memory of the last inputs) carries over from one invoke to the next
on both, so every case runs several invokes in a row; Model.reset() and
TFLite's reset_all_variables() restart it alike."""

import numpy as np
import pytest

import parity
from tflite_build import Builder

pytest.importorskip("tensorflow")
from tinyml_converter.convert import tflite_to_blob  # noqa: E402
from tinyml_converter.errors import ConversionError  # noqa: E402
from tinyml_converter.host_runtime import HostModel  # noqa: E402


def svdf_model(seed, batch, inputs, units, rank, memory, bias=True, activation=1):
    rng = np.random.default_rng(seed)
    filters = units * rank
    b = Builder()
    in_scale, wf_scale = float(rng.uniform(0.01, 0.1)), float(rng.uniform(0.002, 0.02))
    state_scale = float(rng.uniform(0.5, 4)) * in_scale * wf_scale * max(1, inputs) / 4
    wt_scale = float(rng.uniform(1e-4, 1e-3))
    # Output scale for sums of rank x memory products of ~1700 x ~8000 (time
    # weight x state) to land mostly inside int8, some of them clamped.
    out_scale = state_scale * wt_scale * 1700 * 8000 * float(np.sqrt(rank * memory)) / (40 * float(rng.uniform(0.5, 2)))
    x = b.tensor("input", [batch, inputs], np.int8, in_scale, int(rng.integers(-20, 21)))
    wf = b.tensor("weights_feature", [filters, inputs], np.int8, wf_scale, 0,
                  rng.integers(-127, 128, (filters, inputs)))
    wt = b.tensor("weights_time", [filters, memory], np.int16, wt_scale, 0,
                  rng.integers(-3000, 3001, (filters, memory)))
    ins = [x, wf, wt]
    ins.append(b.tensor("bias", [units], np.int32, in_scale * wf_scale, 0, rng.integers(-4000, 4001, units))
               if bias else -1)
    state = b.tensor("state", [batch, memory * filters], np.int16, state_scale, 0, variable=True)
    y = b.tensor("output", [batch, units], np.int8, out_scale, int(rng.integers(-10, 11)))
    o = b.s.SVDFOptionsT()
    o.rank, o.fusedActivationFunction = rank, activation
    b.op("SVDF", [*ins, state], [y], "SVDFOptions", o)
    b.version("SVDF", 3)
    return b.finish([x], [y])


def check(tflite, invokes=10, seed=0):
    rng = np.random.default_rng(seed)
    oracle, tfl, host = parity.evaluate(tflite, lambda o: parity.random_inputs(o, rng, invokes))
    assert oracle.resolver == "BUILTIN_REF"
    bad = [(k, p) for k, p in enumerate(parity.compare(a, b) for a, b in zip(tfl, host)) if p]
    assert not bad, f"{len(bad)} of {len(tfl)} invokes differ, first {bad[0]}"
    # Not every output saturates: the case tests the arithmetic, not the clamp.
    values = np.concatenate([a[0].reshape(-1) for a in tfl])
    assert len(np.unique(values)) > 2, "degenerate case: outputs all clamped"


CASES = [
    # seed, batch, inputs, units, rank, memory, bias
    (0, 1, 5, 3, 2, 4, True),
    (1, 1, 1, 1, 1, 1, True),
    (2, 2, 10, 4, 1, 8, False),
    (3, 1, 16, 8, 2, 10, True),
    (4, 3, 7, 5, 3, 3, True),
    (5, 1, 40, 16, 1, 32, True),
]


@pytest.mark.parametrize("case", CASES, ids=[f"svdf{c[0]}" for c in CASES])
def test_svdf_matches_tflite(case):
    seed, batch, inputs, units, rank, memory, bias = case
    check(svdf_model(seed, batch, inputs, units, rank, memory, bias), seed=seed)


def test_generated_svdf_shapes():
    rng = np.random.default_rng(37)
    for k in range(8):
        check(svdf_model(100 + k, int(rng.integers(1, 4)), int(rng.integers(1, 30)), int(rng.integers(1, 12)),
                         int(rng.integers(1, 4)), int(rng.integers(1, 20)), bool(rng.integers(2))),
              invokes=8, seed=k)


def test_reset_matches_tflite():
    tflite = svdf_model(7, 1, 6, 4, 2, 5)
    oracle = parity.Oracle(tflite)
    model = HostModel(tflite_to_blob(tflite))
    rng = np.random.default_rng(7)
    xs = [[rng.integers(-128, 128, size=s, dtype=np.int8) for s in oracle.input_shapes] for _ in range(4)]
    for x in xs:
        assert parity.compare(oracle.run(x), parity.run_host(model, oracle, x)) is None
    oracle.it.reset_all_variables()
    model.reset()
    for x in xs:
        assert parity.compare(oracle.run(x), parity.run_host(model, oracle, x)) is None


def test_svdf_without_relu_is_refused_by_name():
    with pytest.raises(ConversionError, match="SVDF.*activation NONE.*RELU only"):
        tflite_to_blob(svdf_model(0, 1, 4, 2, 1, 3, activation=0))
